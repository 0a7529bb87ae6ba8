import Foundation
import TenderAPI
import TenderDocuments
import TenderWire
import Testing
@testable import Controller

@Suite("Parsed document cache")
struct DocumentCacheTests {
    /// A migrated store on a fresh database, shut down and removed afterwards.
    func withService<T: Sendable>(
        _ kind: StoreKind, cache: ParsedDocumentCache = ParsedDocumentCache(),
        _ body: (DocumentService, SQLStore) async throws -> T
    ) async throws -> T {
        try await TestDatabase.with(kind) { database in
            let store = try await database.open()
            do {
                try await store.migrate()
                let value = try await body(DocumentService(store: store, cache: cache), store)
                await store.shutdown()
                return value
            } catch {
                await store.shutdown()
                throw error
            }
        }
    }

    /// About 120 KB of YAML: 300 parameters and 50 steps of 70 short lines.
    static func largeDocument(description: String = "a large document") -> String {
        var lines = ["schemaVersion: '2.2'", "description: \(description)", "parameters:"]
        for index in 0..<300 {
            lines += ["  p\(index):", "    type: String", "    description: parameter \(index)", "    default: v\(index)", "    allowedPattern: '[a-z0-9]+'"]
        }
        lines.append("mainSteps:")
        for step in 0..<50 {
            lines += ["  - action: aws:runShellScript", "    name: step\(step)", "    inputs:", "      runCommand:"]
            lines += (0..<70).map { "        - echo \($0) {{ p\($0) }}" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func small(_ description: String) -> String {
        "schemaVersion: '2.2'\ndescription: \(description)\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: [ls]}}]\n"
    }

    @Test(arguments: StoreKind.tested)
    func aLargeDocumentIsListedShownAndSentWithoutBeingReadAgain(_ kind: StoreKind) async throws {
        try await withService(kind) { service, _ in
            let text = Self.largeDocument()
            #expect(text.utf8.count > 110_000 && text.utf8.count < DocumentParser.maxTextBytes, "\(text.utf8.count) bytes")
            _ = try await service.create(DocumentRequest(name: "large-doc", content: text, format: "yaml"))
            let misses = service.cache.misses

            let clock = ContinuousClock()
            let elapsed = try await clock.measure {
                for _ in 0..<3 {
                    let listed = try await service.list()
                    #expect(listed.first { $0.name == "large-doc" }?.parameters.count == 300)
                    let shown = try await service.show("large-doc")
                    #expect(shown.stepCount == 50)
                    let resolved = try await service.resolve("large-doc")
                    #expect(resolved.version == 1)
                }
            }
            #expect(service.cache.misses == misses, "list, show and resolve read the document again")
            // The figure for the issue's "under a second" (0.1–0.3 s when run alone); the
            // bound is loose because a wall clock on a loaded CI machine is no measurement.
            print("DocumentCacheTests: three list, show and resolve rounds of a 120 KB document took \(elapsed)")
            #expect(elapsed < .seconds(10), "took \(elapsed)")
        }
    }

    @Test(arguments: StoreKind.tested)
    func updateAndDeleteDropTheCachedVersions(_ kind: StoreKind) async throws {
        try await withService(kind) { service, _ in
            let cache = service.cache
            _ = try await service.create(DocumentRequest(name: "doc-one", content: Self.small("first"), format: "yaml"))
            _ = try await service.create(DocumentRequest(name: "doc-two", content: Self.small("other"), format: "yaml"))
            #expect(cache.contains(name: "doc-one", version: 1))
            #expect(try await service.show("doc-one").description == "first")
            #expect(cache.misses == 0)

            _ = try await service.update("doc-one", DocumentRequest(name: nil, content: Self.small("second"), format: "yaml"))
            #expect(!cache.contains(name: "doc-one", version: 1))
            #expect(cache.contains(name: "doc-one", version: 2))
            #expect(cache.contains(name: "doc-two", version: 1), "another name's entries stay")
            #expect(try await service.show("doc-one").description == "second")
            #expect(try await service.list().first { $0.name == "doc-one" }?.description == "second")
            #expect(cache.misses == 0)

            // An old version can still be shown (and sent): read again, then cached.
            #expect(try await service.show("doc-one", version: 1).description == "first")
            #expect(cache.misses == 1)
            #expect(cache.contains(name: "doc-one", version: 1))

            try await service.delete("doc-one")
            #expect(!cache.contains(name: "doc-one", version: 1))
            #expect(!cache.contains(name: "doc-one", version: 2))
            #expect(cache.count == 1)
            await #expect(throws: TenderError.self) { _ = try await service.show("doc-one") }
            #expect(try await service.list().contains { $0.name == "doc-one" } == false)

            // The name reused: numbering continues, and the new text is what is read.
            _ = try await service.create(DocumentRequest(name: "doc-one", content: Self.small("third"), format: "yaml"))
            #expect(try await service.show("doc-one").description == "third")
            #expect(try await service.resolve("doc-one").version == 3)
        }
    }

    @Test(arguments: StoreKind.tested)
    func aDocumentThatNoLongerParsesIsReadOnce(_ kind: StoreKind) async throws {
        try await withService(kind) { service, store in
            // Stored directly, as an older parser would have accepted it (a backreference).
            let text = "schemaVersion: '2.2'\nparameters: {p: {type: String, allowedPattern: '(a)\\1'}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]\n"
            _ = try await store.createDocument(name: "old-doc", content: text, at: Date())
            for _ in 0..<3 {
                let listed = try await service.list()
                #expect(listed.first { $0.name == "old-doc" }?.description == "(no longer valid: run document show)")
                await #expect(throws: TenderError.self) { _ = try await service.resolve("old-doc") }
            }
            #expect(service.cache.misses == 1)
        }
    }

    @Test func leastRecentlyUsedGoFirst() {
        let cache = ParsedDocumentCache(maxEntries: 2, maxTextBytes: 1_000)
        func record(_ name: String, _ bytes: Int = 10) -> DocumentRecord {
            DocumentRecord(name: name, version: 1, content: Self.small(name) + String(repeating: "#", count: max(0, bytes - Self.small(name).utf8.count)), createdAt: Date())
        }
        _ = cache.document(for: record("aaa"))
        _ = cache.document(for: record("bbb"))
        _ = cache.document(for: record("aaa"))  // used again: bbb is now the oldest
        _ = cache.document(for: record("ccc"))
        #expect(cache.count == 2)
        #expect(cache.contains(name: "aaa", version: 1))
        #expect(!cache.contains(name: "bbb", version: 1))
        #expect(cache.contains(name: "ccc", version: 1))
        #expect(cache.misses == 3)

        // The text bound: two of 400 bytes fit in 1,000, a third evicts the oldest.
        let bytes = ParsedDocumentCache(maxEntries: 10, maxTextBytes: 1_000)
        for name in ["one", "two", "six"] { _ = bytes.document(for: record(name, 400)) }
        #expect(bytes.count == 2)
        #expect(bytes.textBytes == 800)
        #expect(!bytes.contains(name: "one", version: 1))
        // A text larger than the whole bound is parsed but not kept.
        if case .failure = bytes.document(for: record("big", 1_001)) { Issue.record("big did not parse") }
        #expect(!bytes.contains(name: "big", version: 1))
        #expect(bytes.count == 2)
    }

    @Test func concurrentReadsAgree() async {
        let cache = ParsedDocumentCache(maxEntries: 8)
        let records = (0..<16).map { DocumentRecord(name: "doc\($0)", version: 1, content: Self.small("d\($0)"), createdAt: Date()) }
        let descriptions = await withTaskGroup(of: [String?].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<200).map { index in
                        let record = records[index % records.count]
                        return (try? cache.document(for: record).get())?.description
                    }
                }
            }
            var all: [[String?]] = []
            for await result in group { all.append(result) }
            return all
        }
        let expected = (0..<200).map { "d\($0 % 16)" as String? }
        #expect(descriptions.allSatisfy { $0 == expected })
        #expect(cache.count == 8)
    }
}
