import Foundation
import Testing

/// One registered agent that floods the controller and never reads what it is
/// sent must not take the controller down: `tender-bench hostile` runs the flood
/// against a real controller process next to well-behaved agents, and the limits
/// of docs/security.md must hold.
@Suite("E2E: hostile agent", .serialized, .timeLimit(.minutes(10)))
struct HostileAgentTests {
    /// The bound on what one hostile connection may add to the controller.
    static let maxGrowthMB = 64.0

    func flood(_ kind: String) async throws {
        try await withSandbox("hostile-\(kind)") { sandbox in
            let result = try await sandbox.run("bench-hostile-\(kind)", binary: "tender-bench",
                                               ["hostile", "--flood", kind, "--agents", "3", "--seconds", "45", "-o", "json", "--quiet"],
                                               environment: ["TMPDIR": sandbox.root.path], timeout: .seconds(240))
            try #require(result.exitCode == 0, "\(result)")
            let line = try #require(result.stdout.split(separator: "\n").last.map(String.init), "\(result)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(result)")
            func number(_ key: String) -> Double { (json[key] as? NSNumber)?.doubleValue ?? -1 }
            // Cut off by the controller itself, before the flood's own 45 s deadline: by the
            // flood guard (how soon depends on how far above the rate the flood gets on a
            // loaded machine; 1–3 s alone) or, once the controller stopped reading an agent
            // that does not read, by the heartbeat timeout.
            #expect(json["hostileClosed"] as? Bool == true, "the controller did not close the flooding connection: \(json)")
            #expect(number("hostileClosedAfterSeconds") >= 0 && number("hostileClosedAfterSeconds") < 40, "\(json)")
            #expect(number("framesSent") > 100, "the flood did not get going: \(json)")
            #expect(number("rssGrowthMB") >= 0 && number("rssGrowthMB") < Self.maxGrowthMB, "controller memory grew too much: \(json)")
            // Health answered every time it was asked during the flood, and there were checks.
            #expect(number("healthChecks") >= 5, "\(json)")
            #expect(number("healthFailures") == 0, "/v1/health failed during the flood: \(json)")
            // The others stayed online and still run a command.
            #expect(number("othersOnline") == 3, "\(json)")
            #expect(number("commandAfterFloodMs") > 0, "\(json)")
        }
    }

    @Test("an agent flooding pings without reading is disconnected; memory, health and the other agents are unaffected")
    func pingFlood() async throws {
        try await flood("pings")
    }

    @Test("an agent flooding well-formed messages the controller must answer, without reading, is disconnected; the rest is unaffected")
    func messageFlood() async throws {
        try await flood("messages")
    }

    @Test("an agent sending malformed messages is disconnected after a few; the rest is unaffected")
    func garbageFlood() async throws {
        try await flood("garbage")
    }
}
