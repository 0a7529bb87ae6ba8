import Foundation
import Testing

/// The agent runs on every managed host, so what it links is a promise: the wire
/// module and what it needs to run work, never the controller's stacks, the
/// document language or full Foundation (whose ICU data is most of a static
/// binary). Package.swift states it; this reads the built `tender-agent` itself,
/// since a dependency can arrive transitively without anyone editing the agent.
@Suite("Agent dependencies")
struct AgentDependencyTests {
    /// Modules whose code or references must not be in the agent, by the prefix
    /// Swift mangles their symbols with (`$s` + length + name).
    static let forbiddenModules = [
        "Yams", "TenderDocuments", "TenderAPI", "Controller",
        "Hummingbird", "HummingbirdCore", "HummingbirdTLS",
        "SQLKit", "SQLiteKit", "SQLiteNIO", "PostgresKit", "PostgresNIO",
        "AsyncHTTPClient", "Foundation", "FoundationInternationalization", "FoundationNetworking",
        "NIOFoundationCompat",
    ]
    /// Shared libraries it must not load (a debug build links the Swift runtime dynamically).
    static let forbiddenLibraries = [
        "libFoundation.so", "libFoundationInternationalization.so", "libFoundationNetworking.so",
        "lib_FoundationICU.so", "libFoundationXML.so",
    ]
    /// Present for sure: proves the symbol scan sees the binary's modules at all.
    static let expectedModules = ["Agent", "TenderWire", "FoundationEssentials", "NIOCore", "NIOSSL"]

    @Test("tender-agent links no Yams, Hummingbird, SQL, AsyncHTTPClient, API models, document language or full Foundation")
    func agentLinksOnlyWhatItRuns() throws {
        let agent = try Binaries.path("tender-agent")
        let symbols = try Self.run("nm", ["-P", "-a", agent])
        let modules = Self.modules(inSymbols: symbols)
        for module in Self.expectedModules {
            #expect(modules.contains(module), "the scan found no symbol of \(module) in \(agent): it is not reading the binary right")
        }
        let forbidden = Self.forbiddenModules.filter(modules.contains)
        #expect(forbidden.isEmpty, "tender-agent links \(forbidden.joined(separator: ", ")); see Package.swift (Agent, tender-agent)")

        let dynamic = try Self.run("readelf", ["-d", agent])
        let needed = dynamic.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        #expect(!needed.isEmpty, "readelf -d shows no NEEDED entries for \(agent)")
        for library in Self.forbiddenLibraries {
            #expect(!needed.contains { $0.contains("[\(library)]") }, "tender-agent needs \(library)")
        }
    }

    @Test("the symbol scan names modules exactly, not by prefix")
    func modulePrefixesAreExact() {
        let sample = """
            $s20FoundationEssentials4DataV5countSivg T 0 0
            $s10TenderWire11ChannelCodecV U
            _ZN4bssl3fooEv T 0 0
            """
        #expect(Self.modules(inSymbols: sample) == ["FoundationEssentials", "TenderWire"])
    }

    /// Module names of the Swift symbols in `nm -P` output: `$s` or `$S`, then the
    /// module's length and name (`$s10TenderWire...`).
    static func modules(inSymbols text: String) -> Set<String> {
        var found = Set<String>()
        for line in text.split(separator: "\n") {
            guard let name = line.split(separator: " ").first else { continue }
            var rest = Substring(name)
            guard rest.hasPrefix("$s") || rest.hasPrefix("$S") else { continue }
            rest = rest.dropFirst(2)
            let digits = rest.prefix(while: \.isNumber)
            guard let length = Int(digits), length > 0 else { continue }
            let module = rest.dropFirst(digits.count).prefix(length)
            if module.count == length { found.insert(String(module)) }
        }
        return found
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw E2EError("\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus) (binutils installed?)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
