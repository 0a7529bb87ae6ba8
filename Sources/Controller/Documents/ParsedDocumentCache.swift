import NIOConcurrencyHelpers
import TenderDocuments
import TenderWire

/// Stored documents as parsed, by (name, version), so that listing, showing and
/// sending do not read the same YAML again on every request.
///
/// A stored version never changes (see `DocumentRecord`), so an entry cannot go
/// stale; update and delete still drop a name's entries, so that memory goes to
/// what is used. A document that no longer parses (a stricter newer parser) is
/// kept as its failure, so it is not re-read on every list either.
///
/// Bounded by entries and by the size of the texts they were parsed from (the
/// parsed form is a small multiple of that); the least recently used go first.
/// One lock, held only to look up and to insert: parsing happens outside it, so
/// two requests that miss at once may both parse, and one result is kept.
final class ParsedDocumentCache: Sendable {
    static let defaultMaxEntries = 256
    static let defaultMaxTextBytes = 16 * 1024 * 1024

    typealias Parsed = Result<CommandDocument, TenderError>

    struct Key: Hashable {
        var name: String
        var version: Int
    }

    private struct Entry {
        var parsed: Parsed
        var textBytes: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var textBytes = 0
        var clock: UInt64 = 0
        /// Documents parsed because they were not cached: what tests observe.
        var misses = 0
    }

    let maxEntries: Int
    let maxTextBytes: Int
    /// The actions stored documents are read with.
    let actions: StepActionCatalog
    private let state = NIOLockedValueBox(State())

    init(maxEntries: Int = defaultMaxEntries, maxTextBytes: Int = defaultMaxTextBytes, actions: StepActionCatalog = .standard) {
        self.actions = actions
        self.maxEntries = maxEntries
        self.maxTextBytes = maxTextBytes
    }

    /// `record` parsed: from the cache, or read now and kept.
    func document(for record: DocumentRecord) -> Parsed {
        let key = Key(name: record.name, version: record.version)
        let cached: Parsed? = state.withLockedValue { state in
            guard var entry = state.entries[key] else {
                state.misses += 1
                return nil
            }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.parsed
        }
        if let cached { return cached }
        let parsed: Parsed
        do {
            parsed = .success(try DocumentParser.parse(text: record.content, format: .auto, actions: actions))
        } catch let error as TenderError {
            parsed = .failure(error)
        } catch {
            parsed = .failure(TenderError(.validation, "\(error)"))
        }
        insert(parsed, for: record)
        return parsed
    }

    /// Keeps a document just parsed on create or update, so the next read is a hit.
    func insert(_ parsed: Parsed, for record: DocumentRecord) {
        let key = Key(name: record.name, version: record.version)
        let textBytes = record.content.utf8.count
        // One text larger than the whole budget is not kept (it would evict everything).
        guard textBytes <= maxTextBytes else { return }
        state.withLockedValue { state in
            state.clock += 1
            if let old = state.entries.updateValue(Entry(parsed: parsed, textBytes: textBytes, lastUse: state.clock), forKey: key) {
                state.textBytes -= old.textBytes
            }
            state.textBytes += textBytes
            while state.entries.count > maxEntries || state.textBytes > maxTextBytes {
                // A linear scan of at most `maxEntries`, only when over a bound.
                guard let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
                state.entries[oldest.key] = nil
                state.textBytes -= oldest.value.textBytes
            }
        }
    }

    /// Drops every version of `name` (after an update or a delete).
    func removeAll(named name: String) {
        state.withLockedValue { state in
            for key in state.entries.keys.filter({ $0.name == name }) {
                if let entry = state.entries.removeValue(forKey: key) { state.textBytes -= entry.textBytes }
            }
        }
    }

    func contains(name: String, version: Int) -> Bool {
        state.withLockedValue { $0.entries[Key(name: name, version: version)] != nil }
    }

    var count: Int { state.withLockedValue { $0.entries.count } }
    var textBytes: Int { state.withLockedValue { $0.textBytes } }
    var misses: Int { state.withLockedValue { $0.misses } }
}
