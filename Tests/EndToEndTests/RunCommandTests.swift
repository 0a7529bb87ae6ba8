import Foundation
import Testing

/// Run Command end to end: real controller, real agents, real scripts.
@Suite("E2E: Run Command")
struct RunCommandTests {
    struct Invocation: Decodable {
        let instanceId: String
        let status: String
        let statusDetails: String
        let responseCode: Int?
        let stdout: String
        let stderr: String
        let startedAt: Date?
        let endedAt: Date?
    }

    struct Command: Decodable {
        let commandId: String
        let status: String
        let statusDetails: String
        let targetCount: Int
        let completedCount: Int
        let errorCount: Int
        let deliveryTimedOutCount: Int
        let invocations: [Invocation]?
    }

    static func decodeCommand(_ result: CommandResult) throws -> Command {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(Command.self, from: Data(result.stdout.utf8))
        } catch {
            throw E2EError("cannot decode a command from \(result)")
        }
    }

    func send(_ sb: Sandbox, _ controller: ControllerHandle, _ arguments: [String]) async throws -> (CommandResult, Command) {
        let result = try await sb.tender(controller, ["command", "send", "--document", "Tender-RunShellScript"] + arguments)
        return (result, try Self.decodeCommand(result))
    }

    func show(_ sb: Sandbox, _ controller: ControllerHandle, _ id: String) async throws -> Command {
        try Self.decodeCommand(try await sb.tender(controller, ["command", "show", id]))
    }

    @Test("three agents run echo hi; rate control; MaxErrors; execution timeout; large output; cancel")
    func runCommandOnAFleet() async throws {
        try await withSandbox("runcommand") { sb in
            let (controller, agents, _) = try await sb.startFleet(count: 3)

            // 1. echo hi everywhere.
            let (hiResult, hi) = try await send(sb, controller, ["--target", "*", "--param", "commands=echo hi", "--wait"])
            #expect(hiResult.exitCode == 0, "\(hiResult)")
            #expect(hi.status == "Success")
            #expect(hi.invocations?.count == 3)
            #expect(hi.invocations?.allSatisfy { $0.status == "Success" && $0.stdout == "hi\n" && $0.responseCode == 0 } == true, "\(hi)")
            #expect(Set(hi.invocations?.map(\.instanceId) ?? []) == Set(agents.map(\.instanceID)))

            // 2. --max-concurrency 1: no two invocations overlap.
            let (_, serial) = try await send(sb, controller, ["--target", "*", "--param", "commands=sleep 1", "--max-concurrency", "1", "--wait"])
            #expect(serial.status == "Success")
            let spans = (serial.invocations ?? []).compactMap { inv in inv.startedAt.flatMap { s in inv.endedAt.map { (s, $0) } } }.sorted { $0.0 < $1.0 }
            #expect(spans.count == 3)
            for (a, b) in zip(spans, spans.dropFirst()) {
                #expect(b.0 >= a.1, "invocations overlapped: \(spans)")
            }

            // 3. --max-errors 0 with a failing script: one error, the rest Cancelled/Terminated.
            let (failedResult, failed) = try await send(sb, controller, ["--target", "*", "--param", "commands=exit 7", "--max-concurrency", "1", "--max-errors", "0", "--wait"])
            #expect(failedResult.exitCode == 1, "a --wait that ends Failed exits 1")
            #expect(failed.status == "Failed")
            #expect(failed.errorCount == 1)
            let statuses = (failed.invocations ?? []).map { "\($0.status)/\($0.statusDetails)" }.sorted()
            #expect(statuses == ["Cancelled/Terminated", "Cancelled/Terminated", "Failed/Failed"], "\(statuses)")
            // The 10% and 50% forms are accepted.
            let (pct, pctCommand) = try await send(sb, controller, ["--target", "*", "--param", "commands=true", "--max-concurrency", "50%", "--max-errors", "10%", "--wait"])
            #expect(pct.exitCode == 0 && pctCommand.status == "Success", "\(pct)")

            // 4. An execution timeout kills the script in seconds.
            let one = agents[0].instanceID
            let started = ContinuousClock.now
            let (_, slow) = try await send(sb, controller, ["--target", "ids=\(one)", "--param", "commands=sleep 60", "--param", "executionTimeout=5", "--wait"])
            #expect(slow.status == "Failed" || slow.status == "TimedOut", "\(slow)")
            #expect(slow.invocations?.first?.status == "TimedOut")
            #expect(slow.invocations?.first?.statusDetails == "Execution Timed Out")
            #expect(ContinuousClock.now - started < .seconds(30))

            // 5. 100 kB of output: cut inline with the marker, whole through `command output`.
            let (_, big) = try await send(sb, controller, ["--target", "ids=\(one)", "--param", "commands=head -c 100000 /dev/zero | tr '\\0' 'x'", "--wait"])
            #expect(big.status == "Success", "\(big)")
            let inline = big.invocations?.first?.stdout ?? ""
            #expect(inline.hasPrefix(String(repeating: "x", count: 24_000) + "\n--- output truncated"), "inline output must be exactly 24,000 characters and the marker; it is \(inline.count) characters")
            let full = try await sb.tender(controller, ["command", "output", big.commandId, "--instance", one], json: false)
            #expect(full.exitCode == 0)
            #expect(full.stdout == String(repeating: "x", count: 100_000), "command output returned \(full.stdout.count) bytes")

            // 6. Cancel of a running sleep 300: Cancelled, and the process is gone.
            let marker = "tender-e2e-cancel-\(UUID().uuidString.prefix(8))"
            let (_, long) = try await send(sb, controller, ["--target", "ids=\(one)", "--param", "commands=sleep 300 # \(marker)"])
            _ = try await eventually("the sleep to start", timeout: .seconds(20)) {
                try await show(sb, controller, long.commandId).invocations?.first?.startedAt != nil ? true : nil
            }
            let cancel = try await sb.tender(controller, ["command", "cancel", long.commandId])
            #expect(cancel.exitCode == 0, "\(cancel)")
            let cancelled = try await eventually("the command to end Cancelled", timeout: .seconds(20)) {
                let c = try await show(sb, controller, long.commandId)
                return c.status == "Cancelled" ? c : nil
            }
            #expect(cancelled.invocations?.first?.status == "Cancelled")
            let pgrep = try await sb.run("pgrep", binary: "/usr/bin/pgrep", ["-f", marker])
            #expect(pgrep.exitCode == 1, "the cancelled script must be killed: \(pgrep.stdout)")
        }
    }

    @Test("a command waits for an offline agent, runs when it reconnects, and times out on delivery otherwise")
    func offlineAgents() async throws {
        try await withSandbox("offline") { sb in
            let (controller, agents, runs) = try await sb.startFleet(count: 2)
            try await runs[0].kill9()
            try await runs[1].kill9()
            _ = try await sb.waitFor("ConnectionLost", agents.map(\.instanceID), on: controller, timeout: .seconds(15))

            let (_, waiting) = try await send(sb, controller, ["--target", "ids=\(agents[0].instanceID)", "--param", "commands=echo later"])
            let (_, doomed) = try await send(sb, controller, ["--target", "ids=\(agents[1].instanceID)", "--param", "commands=echo never", "--timeout", "30"])
            #expect(waiting.status == "Pending")

            _ = try sb.startAgent(agents[0], label: "agent0-back")
            let ran = try await eventually("the waiting command to run after the reconnect", timeout: .seconds(40)) {
                let c = try await show(sb, controller, waiting.commandId)
                return c.status == "Success" ? c : nil
            }
            #expect(ran.invocations?.first?.stdout == "later\n")

            let timedOut = try await eventually("the other command to time out on delivery", timeout: .seconds(50)) {
                let c = try await show(sb, controller, doomed.commandId)
                return c.invocations?.first?.status == "TimedOut" ? c : nil
            }
            #expect(timedOut.invocations?.first?.statusDetails == "Delivery Timed Out")
            #expect(timedOut.deliveryTimedOutCount == 1)
            #expect(timedOut.errorCount == 0)
        }
    }

    @Test("kill -9 of an agent mid-command: Failed with a reason, never run twice")
    func agentCrashMidCommand() async throws {
        try await withSandbox("crash") { sb in
            let (controller, agents, runs) = try await sb.startFleet(count: 1)
            let counter = sb.url("runs.count")
            let release = sb.url("release")
            // Counts its run, then blocks until released (60 s at most), so a re-run after
            // the release ends at once, with a result, instead of looking like a hang.
            let script = "echo run >> \(counter.path); for i in $(seq 600); do [ -e \(release.path) ] && break; sleep 0.1; done"
            let (_, command) = try await send(sb, controller, ["--target", "*", "--param", "commands=\(script)"])
            _ = try await eventually("the script to start", timeout: .seconds(20)) {
                FileManager.default.fileExists(atPath: counter.path) ? true : nil
            }
            try await runs[0].kill9()
            try Data().write(to: release)
            let restarted = try sb.startAgent(agents[0], label: "agent-restarted")
            let ended = try await eventually("the invocation's final status to be stored", timeout: .seconds(40)) {
                let c = try await show(sb, controller, command.commandId)
                return Self.terminalCommandStatuses.contains(c.status) ? c : nil
            }
            let invocation = try #require(ended.invocations?.first)
            #expect(invocation.status == "Failed", "\(invocation)")
            #expect(invocation.stderr.contains("not run again") || invocation.stdout.contains("not run again"), "\(invocation)")
            try await restartAndRunALaterCommand(sb, controller, agents, [restarted])
            let lines = try String(contentsOf: counter, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1, "the script ran \(lines.count) times")
        }
    }

    @Test("bad sends are refused with exit 2 and a message; nothing is stored")
    func refusedSends() async throws {
        try await withSandbox("badsend") { sb in
            let (controller, _, _) = try await sb.startFleet(count: 1)
            let cases: [([String], String)] = [
                (["--target", "*"], "commands"),
                (["--target", "*", "--param", "commands=true", "--param", "executionTimeout=abc"], "executionTimeout"),
                (["--target", "*", "--param", "commands=true", "--param", "nope=1"], "nope"),
                (["--target", "tag:none=x", "--param", "commands=true"], "no registered instance"),
                (["--target", "*", "--param", "commands=true", "--max-concurrency", "150%"], "max-concurrency"),
            ]
            for (arguments, expected) in cases {
                let result = try await sb.tender(controller, ["command", "send", "--document", "Tender-RunShellScript"] + arguments)
                #expect(result.exitCode == 2, "\(arguments): \(result)")
                #expect(result.stderr.contains(expected), "\(arguments) should mention \(expected): \(result.stderr)")
            }
            let unknown = try await sb.tender(controller, ["command", "send", "--document", "No-Such-Document", "--target", "*"])
            #expect(unknown.exitCode == 1, "\(unknown)")
            let list = try await sb.tender(controller, ["command", "list"])
            #expect(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "nothing may be stored: \(list.stdout)")
        }
    }
}

extension RunCommandTests {
    @Test("kill -9 of the controller during a fan-out to 50 agents: every invocation ends once, no script runs twice")
    func controllerCrashDuringFanOut() async throws {
        try await withSandbox("fanout-crash") { sb in
            let (controller, agents, runs) = try await sb.startFleet(count: 50)
            let marks = sb.url("marks")
            try FileManager.default.createDirectory(at: marks, withIntermediateDirectories: true)
            // A window of 10 spreads the fan-out over time, so the crash lands in the middle of it.
            let (_, command) = try await send(sb, controller, [
                "--target", "*", "--max-concurrency", "10",
                "--param", "commands=echo run >> \(marks.path)/$TENDER_INSTANCE_ID", "--param", "commands=sleep 1",
            ])
            _ = try await eventually("some scripts to run", timeout: .seconds(30), every: .milliseconds(100)) {
                ((try? FileManager.default.contentsOfDirectory(atPath: marks.path).count) ?? 0) >= 5 ? true : nil
            }
            try await controller.kill9()
            try await controller.restart()

            let finished = try await eventually("the command to finish after the restart", timeout: .seconds(120), every: .seconds(1)) {
                let c = try await show(sb, controller, command.commandId)
                return c.status == "Success" || c.status == "Failed" ? c : nil
            }
            let invocations = try #require(finished.invocations)
            #expect(invocations.count == 50)
            #expect(invocations.allSatisfy { ["Success", "Failed", "TimedOut", "Cancelled"].contains($0.status) }, "\(invocations.map(\.status))")
            #expect(finished.status == "Success", "\(invocations.filter { $0.status != "Success" }.map { "\($0.instanceId) \($0.status) \($0.statusDetails)" })")
            try await restartAndRunALaterCommand(sb, controller, agents, runs)
            for agent in agents {
                let lines = (try? String(contentsOf: marks.appendingPathComponent(agent.instanceID), encoding: .utf8))?.split(separator: "\n") ?? []
                #expect(lines.count == 1, "\(agent.instanceID) ran the script \(lines.count) times")
            }
        }
    }
}

extension RunCommandTests {
    static let terminalCommandStatuses: Set<String> = ["Success", "Failed", "Cancelled", "TimedOut"]

    /// When to count a script's runs: after its agents were restarted once more and each
    /// ran a later command. An agent sorts its spool (and queues anything to run) before it
    /// connects, and here has one invocation slot, taken in arrival order; so the later
    /// command's result means whatever the restart would run again has run. (A fixed
    /// sleep would miss a re-run that comes after it.)
    func restartAndRunALaterCommand(_ sb: Sandbox, _ controller: ControllerHandle, _ agents: [AgentHandle], _ runs: [ManagedProcess]) async throws {
        for run in runs { try await run.kill9() }
        for agent in agents {
            _ = try sb.launch("agent-\(agent.label)-again", binary: "tender-agent",
                              ["run", "--state-dir", agent.stateDir.path, "--max-concurrent-invocations", "1"])
        }
        let (_, later) = try await send(sb, controller, ["--target", "*", "--param", "commands=echo later"])
        let ran = try await eventually("a later command to end on the agents restarted once more", timeout: .seconds(90), every: .milliseconds(500)) {
            let c = try await show(sb, controller, later.commandId)
            return Self.terminalCommandStatuses.contains(c.status) ? c : nil
        }
        #expect(ran.status == "Success" && ran.completedCount == agents.count, "\(ran)")
    }
}

extension RunCommandTests {
    struct Event: Decodable {
        let seq: Int
        let commandId: String
        let instanceId: String?
        let status: String
    }

    @Test("a custom document runs at the version it had when sent, and every status change is an event")
    func customDocumentAndEvents() async throws {
        try await withSandbox("customdoc") { sb in
            let (controller, agents, _) = try await sb.startFleet(count: 1)
            let file = sb.url("Greet.yaml")
            try """
            schemaVersion: "2.2"
            parameters:
              who: {type: String, default: world, allowedPattern: "^[a-z]+$"}
            mainSteps:
              - action: aws:runShellScript
                name: greet
                inputs: {runCommand: ["echo hello {{ who }}"]}
            """.write(to: file, atomically: true, encoding: .utf8)
            #expect(try await sb.tender(controller, ["document", "create", "--file", file.path]).exitCode == 0)
            let result = try await sb.tender(controller, ["command", "send", "--document", "Greet", "--target", "*", "--param", "who=tender", "--wait"])
            let command = try Self.decodeCommand(result)
            #expect(command.status == "Success")
            #expect(command.invocations?.first?.stdout == "hello tender\n")
            struct Versioned: Decodable { let documentVersion: Int }
            #expect(try JSONDecoder().decode(Versioned.self, from: Data(result.stdout.utf8)).documentVersion == 1)

            // A value that breaks the parameter's pattern is refused, naming it and the rule.
            let bad = try await sb.tender(controller, ["command", "send", "--document", "Greet", "--target", "*", "--param", "who=Tender!"])
            #expect(bad.exitCode == 2)
            #expect(bad.stderr.contains("who") && bad.stderr.contains("pattern"), "\(bad.stderr)")

            let events = try await sb.tenderJSON(controller, ["command", "list"], as: [Command].self)
            #expect(events.count == 1)
            let api = try await sb.http("GET", controller.apiURL + "/v1/events?since=0", caPath: controller.caPath, token: controller.adminToken)
            #expect(api.status == 200)
            let list = try JSONDecoder().decode([Event].self, from: Data(api.body.utf8))
            let mine = list.filter { $0.commandId == command.commandId }
            #expect(mine.contains { $0.instanceId == nil && $0.status == "Pending" })
            #expect(mine.contains { $0.instanceId == agents[0].instanceID && $0.status == "InProgress" })
            #expect(mine.contains { $0.instanceId == agents[0].instanceID && $0.status == "Success" })
            #expect(mine.contains { $0.instanceId == nil && $0.status == "Success" })
            #expect(list.map(\.seq) == list.map(\.seq).sorted())
            let later = try await sb.http("GET", controller.apiURL + "/v1/events?since=\(list.last?.seq ?? 0)", caPath: controller.caPath, token: controller.adminToken)
            #expect(later.body.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        }
    }
}

extension RunCommandTests {
    @Test("output of a running invocation can be followed before it ends")
    func outputStreamsWhileRunning() async throws {
        try await withSandbox("streaming") { sb in
            let (controller, _, _) = try await sb.startFleet(count: 1)
            let (_, command) = try await send(sb, controller, ["--target", "*", "--param", "commands=echo first", "--param", "commands=sleep 8", "--param", "commands=echo second"])
            let running = try await eventually("the first line while the command still runs", timeout: .seconds(10), every: .milliseconds(250)) {
                let c = try await show(sb, controller, command.commandId)
                return c.invocations?.first?.stdout == "first\n" ? c : nil
            }
            #expect(running.invocations?.first?.status == "InProgress")
            let done = try await eventually("the command to finish", timeout: .seconds(30)) {
                let c = try await show(sb, controller, command.commandId)
                return c.status == "Success" ? c : nil
            }
            #expect(done.invocations?.first?.stdout == "first\nsecond\n")

            // Output far beyond one frame travels in pieces and comes back whole.
            let (_, huge) = try await send(sb, controller, ["--target", "*", "--param", "commands=head -c 3000000 /dev/zero | tr '\\0' 'y'", "--wait"])
            #expect(huge.status == "Success", "\(huge)")
            let instance = try #require(huge.invocations?.first?.instanceId)
            let full = try await sb.tender(controller, ["command", "output", huge.commandId, "--instance", instance], json: false)
            #expect(full.stdout.utf8.count == 3_000_000 && full.stdout.allSatisfy { $0 == "y" }, "got \(full.stdout.utf8.count) bytes")
        }
    }
}
