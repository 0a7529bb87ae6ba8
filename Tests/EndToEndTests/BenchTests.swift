import Foundation
import Testing

/// `tender-bench` at a small scale, so the benchmark itself cannot rot: every
/// scenario runs end to end against real processes and prints the documented fields
/// names. The figures are not judged here (debug builds, a busy test machine); the
/// README's Performance section has the release figures.
@Suite("tender-bench", .serialized)
struct BenchTests {
    func bench(_ sandbox: Sandbox, _ arguments: [String], timeout: Duration = .seconds(240)) async throws -> [String: Any] {
        // TMPDIR: the bench's work dir (controller data and logs) lives in the sandbox.
        let result = try await sandbox.run("bench-\(arguments[0])", binary: "tender-bench", arguments + ["-o", "json", "--quiet"],
                                           environment: ["TMPDIR": sandbox.root.path], timeout: timeout)
        try #require(result.exitCode == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n")
        try #require(lines.count == 1, "one JSON line expected: \(result)")
        return try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any], "\(result)")
    }

    func number(_ object: [String: Any], _ key: String) -> Double? {
        (object[key] as? NSNumber)?.doubleValue
    }

    @Test("register, fanout and storm with 20 simulated agents print their documented fields")
    func fleetScenarios() async throws {
        try await withSandbox("bench-fleet") { sandbox in
            let register = try await bench(sandbox, ["register", "--agents", "20"])
            #expect(number(register, "agents") == 20)
            #expect((number(register, "seconds") ?? 0) > 0)
            #expect((number(register, "perSecond") ?? 0) > 0)

            let fanout = try await bench(sandbox, ["fanout", "--agents", "20"])
            for key in ["agents", "connectSeconds", "firstResultMs", "p50Ms", "p99Ms", "allResultsMs", "controllerRssMB", "controllerRssPerAgentKB"] {
                #expect(number(fanout, key) != nil, "fanout lacks \(key): \(fanout)")
            }
            #expect(number(fanout, "agents") == 20)
            let first = number(fanout, "firstResultMs") ?? -1, p50 = number(fanout, "p50Ms") ?? -1
            let p99 = number(fanout, "p99Ms") ?? -1, all = number(fanout, "allResultsMs") ?? -1
            #expect(first > 0 && first <= p50 && p50 <= p99 && p99 <= all, "latencies out of order: \(fanout)")
            #expect((number(fanout, "controllerRssMB") ?? 0) > 1)

            let throttled = try await bench(sandbox, ["fanout", "--agents", "20", "--max-concurrency", "5"])
            #expect(throttled["maxConcurrency"] as? String == "5")
            #expect(number(throttled, "agents") == 20)

            let storm = try await bench(sandbox, ["storm", "--agents", "20"])
            for key in ["agents", "p50OnlineSeconds", "p95OnlineSeconds", "allOnlineSeconds", "failedHandshakes", "controllerPeakRssMB"] {
                #expect(number(storm, key) != nil, "storm lacks \(key): \(storm)")
            }
            let p50Online = number(storm, "p50OnlineSeconds") ?? -1, allOnline = number(storm, "allOnlineSeconds") ?? -1
            #expect(p50Online > 0 && p50Online <= allOnline, "\(storm)")
        }
    }

    @Test("agent-footprint measures the real tender-agent idle, streaming output, and scanning a test root and a copy of this host's packages")
    func agentFootprint() async throws {
        try await withSandbox("bench-footprint") { sandbox in
            let footprint = try await bench(sandbox, ["agent-footprint", "--idle-seconds", "2", "--output-mb", "3", "--scan-packages", "6"])
            for key in ["idleRssMB", "idleCpuPercent", "peakRssDuringOutputMB", "binaryMB", "peakRssDuringScanMB", "scanSeconds"] {
                #expect(number(footprint, key) != nil, "agent-footprint lacks \(key): \(footprint)")
            }
            #expect(number(footprint, "scanPackages") == 6)
            #expect((number(footprint, "peakRssDuringScanMB") ?? 0) > 1)
            // The host's own packages are scanned when it has apt lists to copy.
            let lists = (try? FileManager.default.contentsOfDirectory(atPath: "/var/lib/apt/lists")) ?? []
            if lists.contains(where: { $0.contains("_Packages") }) {
                #expect((number(footprint, "peakRssDuringHostScanMB") ?? 0) > 1, "\(footprint)")
                #expect((number(footprint, "hostScanPackages") ?? 0) > 0, "\(footprint)")
            } else {
                #expect(footprint["peakRssDuringHostScanMB"] is NSNull, "\(footprint)")
            }
            #expect((number(footprint, "idleRssMB") ?? 0) > 1)
            #expect((number(footprint, "peakRssDuringOutputMB") ?? 0) >= (number(footprint, "idleRssMB") ?? 0))
        }
    }
}
