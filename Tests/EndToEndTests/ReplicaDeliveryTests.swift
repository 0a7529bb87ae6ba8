import Foundation
import Testing

/// Two controller replicas on one PostgreSQL database, agents split between them:
/// MaxConcurrency holds across replicas, nothing runs twice, nothing is lost.
///
/// The case that broke it: agents busy when the command arrives, so what a replica
/// sent waits unstarted on its agents. A replica must not take that for "agent gone"
/// just because the agent is connected to the other one (docs/run-command.md, "Several replicas").
@Suite("E2E: two replicas")
struct ReplicaDeliveryTests {
    static let postgresVariable = "TENDER_TEST_POSTGRES_URL"

    struct Invocation: Decodable {
        let instanceId: String
        let status: String
    }

    struct Command: Decodable {
        let commandId: String
        let status: String
        let invocations: [Invocation]?
    }

    @Test("six busy agents on two replicas, --max-concurrency 2: never more than 2 run at once, none twice, all stored")
    func maxConcurrencyHoldsAcrossReplicas() async throws {
        guard let adminURL = ProcessInfo.processInfo.environment[Self.postgresVariable], !adminURL.isEmpty else {
            try Test.cancel("needs PostgreSQL: \(Self.postgresVariable) is not set (scripts/test sets it)")
        }
        let database = try await PostgresScratch.create(adminURL: adminURL)
        do {
            try await run(databaseURL: database.url, database: database)
        } catch {
            try? await database.drop()
            throw error
        }
        try await database.drop()
    }

    func run(databaseURL: String, database: PostgresScratch) async throws {
        try await withSandbox("replicas") { sb in
            let replicaA = try await sb.startController("replica-a", extraArguments: ["--database", databaseURL])
            // Replicas share the database and the fleet CA (copied by hand, as an operator does).
            let dataB = sb.url("replica-b-data")
            try FileManager.default.createDirectory(at: dataB, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for file in ["ca.pem", "ca.key"] {
                try FileManager.default.copyItem(at: replicaA.dataDir.appendingPathComponent(file), to: dataB.appendingPathComponent(file))
            }
            let replicaB = try await sb.startController("replica-b", extraArguments: ["--database", databaseURL])
            #expect(replicaB.info.caFingerprint == replicaA.info.caFingerprint)

            let activation = try await sb.createActivation(replicaA, limit: 6)
            var agents: [AgentHandle] = []
            for i in 0..<6 {
                let replica = i < 3 ? replicaA : replicaB
                let agent = try await sb.registerAgent("agent\(i)", with: replica, activation: activation)
                _ = try sb.launch("agent-agent\(i)", binary: "tender-agent", ["run", "--state-dir", agent.stateDir.path, "--max-concurrent-invocations", "1"])
                agents.append(agent)
            }
            _ = try await sb.waitFor("Online", agents.map(\.instanceID), on: replicaA, timeout: .seconds(30))

            // Every agent busy for 8 s, so the next command's invocations wait on them unstarted.
            let busy = try await send(sb, replicaA, ["--param", "commands=sleep 8", "--max-concurrency", "6"])
            _ = try await eventually("all six agents to start the busy script", timeout: .seconds(30), every: .milliseconds(200)) {
                let started = try await database.query("SELECT count(*) FROM invocations WHERE command_id = '\(busy.commandId)' AND started_at IS NOT NULL")
                return started == "6" ? true : nil
            }

            let runs = sb.url("runs.log")
            let measured = try await send(sb, replicaA, [
                "--param", "commands=echo \"$TENDER_INVOCATION_ID\" >> \(runs.path); sleep 3", "--max-concurrency", "2",
            ])
            let finished = try await eventually("the measured command to finish", timeout: .seconds(120), every: .milliseconds(500)) {
                let shown = try await sb.tender(replicaB, ["command", "show", measured.commandId])
                let command = try shown.decode(Command.self)
                return ["Success", "Failed", "Cancelled", "TimedOut"].contains(command.status) ? command : nil
            }
            #expect(finished.status == "Success", "\(finished)")
            #expect(finished.invocations?.count == 6)
            #expect(finished.invocations?.allSatisfy { $0.status == "Success" } == true, "\(finished)")

            // From the stored times (milliseconds): how many ran at once, at most.
            let rows = try await database.query(
                "SELECT started_at || ',' || ended_at FROM invocations WHERE command_id = '\(measured.commandId)' ORDER BY started_at")
            let intervals = rows.split(separator: "\n").compactMap { line -> (Int, Int)? in
                let parts = line.split(separator: ",").compactMap { Int($0) }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }
            #expect(intervals.count == 6, "stored times: \(rows)")
            let peak = Self.peakOverlap(intervals)
            #expect(peak <= 2, "\(peak) invocations were in progress at once with --max-concurrency 2: \(intervals)")
            #expect(peak == 2, "the window of 2 was never used in full: \(intervals)")

            // None ran twice: each invocation's id is in the log exactly once.
            let logged = try String(contentsOf: runs, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(logged.count == 6, "\(logged)")
            #expect(Set(logged).count == logged.count, "an invocation ran twice: \(logged)")
        }
    }

    func send(_ sb: Sandbox, _ controller: ControllerHandle, _ arguments: [String]) async throws -> Command {
        let result = try await sb.tender(controller, ["command", "send", "--document", "Tender-RunShellScript", "--target", "*"] + arguments)
        guard result.exitCode == 0 else { throw E2EError("command send failed:\n\(result)") }
        return try result.decode(Command.self)
    }

    /// The most intervals that contain one instant; one that ends exactly when another
    /// starts does not overlap it.
    static func peakOverlap(_ intervals: [(Int, Int)]) -> Int {
        var events: [(at: Int, change: Int)] = []
        for (start, end) in intervals {
            events.append((start, 1))
            events.append((end, -1))
        }
        // At one instant, ends count before starts.
        events.sort { a, b in a.at != b.at ? a.at < b.at : a.change < b.change }
        var current = 0
        var peak = 0
        for (_, change) in events {
            current += change
            peak = max(peak, current)
        }
        return peak
    }
}

/// A throwaway database on the test PostgreSQL server, used through `psql`.
struct PostgresScratch: Sendable {
    /// The psql of the server scripts/test starts (`TENDER_PG_BIN`, as there), else the one on PATH.
    static let psqlPath: String = {
        let bin = ProcessInfo.processInfo.environment["TENDER_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        let candidate = bin + "/psql"
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : "/usr/bin/psql"
    }()

    let adminURL: String
    let name: String
    let url: String

    static func create(adminURL: String) async throws -> PostgresScratch {
        let name = "tender_e2e_\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF)"
        guard var components = URLComponents(string: adminURL) else { throw E2EError("not a URL: \(adminURL)") }
        components.path = "/" + name
        guard let url = components.string else { throw E2EError("cannot build a database URL from \(adminURL)") }
        let scratch = PostgresScratch(adminURL: adminURL, name: name, url: url)
        _ = try await scratch.psql(adminURL, "CREATE DATABASE \(name)")
        return scratch
    }

    func drop() async throws {
        _ = try await psql(adminURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// The rows of `sql` on the scratch database, one per line, columns unaligned.
    func query(_ sql: String) async throws -> String {
        try await psql(url, sql).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func psql(_ url: String, _ sql: String) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.psqlPath)
        process.arguments = ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw E2EError("psql failed (\(process.terminationStatus)) on \(sql): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
