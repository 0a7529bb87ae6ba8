import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every invocation ends, whatever its agent does (vanishes, freezes, floods output,
/// is deregistered), and a command too large to send is refused up front. Real
/// controller, agents and scripts; the cases are independent and run in parallel.
@Suite("E2E: every invocation ends", .timeLimit(.minutes(10)))
struct InvocationEndingTests {
    typealias Command = RunCommandTests.Command

    static let terminal: Set<String> = ["Success", "Failed", "TimedOut", "Cancelled"]

    /// `tender command send --document Tender-RunShellScript ARGS` (without `--wait`), requiring exit 0.
    func send(_ sb: Sandbox, _ controller: ControllerHandle, _ arguments: [String]) async throws -> Command {
        let result = try await sb.tender(controller, ["command", "send", "--document", "Tender-RunShellScript"] + arguments)
        guard result.exitCode == 0 else { throw E2EError("command send failed:\n\(result)") }
        return try RunCommandTests.decodeCommand(result)
    }

    func show(_ sb: Sandbox, _ controller: ControllerHandle, _ id: String) async throws -> Command {
        try RunCommandTests.decodeCommand(try await sb.tender(controller, ["command", "show", id]))
    }

    /// Polls `command show` until `condition` holds.
    func waitFor(_ what: String, _ sb: Sandbox, _ controller: ControllerHandle, _ id: String, timeout: Duration,
                 every interval: Duration = .milliseconds(250), _ condition: @escaping (Command) -> Bool) async throws -> Command {
        try await eventually(what, timeout: timeout, every: interval) {
            let command = try await show(sb, controller, id)
            return condition(command) ? command : nil
        }
    }

    func invocation(_ command: Command, _ instanceID: String) throws -> RunCommandTests.Invocation {
        guard let found = command.invocations?.first(where: { $0.instanceId == instanceID }) else {
            throw E2EError("command \(command.commandId) has no invocation on \(instanceID)")
        }
        return found
    }
}

// MARK: - Scripts that outlive their agent

/// Scripts that record their pid and then `exec sleep 300`, so a test whose agent
/// is killed or frozen can still stop them: an agent killed with -9 leaves its
/// script running, and the sandbox only kills the processes it started itself.
struct Sleepers: Sendable {
    let directory: URL

    /// The script line for sleeper `name`: the shell writes its pid, then becomes `sleep 300`.
    func line(_ name: String) -> String {
        "echo $$ > \(pidFile(name).path); exec sleep 300"
    }

    func pidFile(_ name: String) -> URL { directory.appendingPathComponent("\(name).pid") }

    func pid(_ name: String) -> pid_t? {
        guard let text = try? String(contentsOf: pidFile(name), encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// True while sleeper `name` runs: its pid is alive and is still a `sleep` (never a recycled pid).
    func isRunning(_ name: String) -> Bool {
        guard let pid = pid(name), kill(pid, 0) == 0,
              let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
        return String(decoding: cmdline, as: UTF8.self).hasPrefix("sleep\u{0}300")
    }

    func waitForStart(_ name: String) async throws {
        try await eventually("sleeper \(name) to start", timeout: .seconds(20), every: .milliseconds(100)) { isRunning(name) ? true : nil }
    }

    /// SIGKILLs every sleeper still running.
    func killAll() {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".pid") }.map { String($0.dropLast(4)) }
        for name in names where isRunning(name) {
            if let pid = pid(name) { _ = kill(pid, SIGKILL) }
        }
    }
}

/// Runs `body` with a Sleepers directory in the sandbox; every sleeper is killed afterwards.
func withSleepers(_ sb: Sandbox, _ body: (Sleepers) async throws -> Void) async throws {
    let sleepers = Sleepers(directory: sb.url("sleepers"))
    try FileManager.default.createDirectory(at: sleepers.directory, withIntermediateDirectories: true)
    do {
        try await body(sleepers)
    } catch {
        sleepers.killAll()
        throw error
    }
    sleepers.killAll()
}

// MARK: - The cases

extension InvocationEndingTests {
    @Test("an agent killed mid-invocation: it ends TimedOut / Execution Timed Out at startedAt + its steps' timeouts + margin, as an error")
    func executionDeadline() async throws {
        try await withSandbox("exec-deadline") { sb in
            try await withSleepers(sb) { sleepers in
                let (controller, _, runs) = try await sb.startFleet(count: 1, controllerFlags: ["--execution-deadline-margin", "5"])
                let sent = try await send(sb, controller, ["--target", "*", "--param", "commands=\(sleepers.line("a"))", "--param", "executionTimeout=10"])
                let running = try await waitFor("the script to start", sb, controller, sent.commandId, timeout: .seconds(20)) {
                    $0.invocations?.first?.startedAt != nil
                }
                try await sleepers.waitForStart("a")
                // Gone with the invocation: it never reports, and is not started again.
                try await runs[0].kill9()
                let startedAt = try #require(running.invocations?.first?.startedAt)

                // Still open past the step's own 10 s: the margin is waited for too.
                try await Task.sleep(for: .seconds(max(0, startedAt.addingTimeInterval(12).timeIntervalSinceNow)))
                let midway = try await show(sb, controller, sent.commandId)
                #expect(midway.invocations?.first?.status == "InProgress", "\(midway)")

                let ended = try await waitFor("the invocation to end", sb, controller, sent.commandId, timeout: .seconds(40), every: .milliseconds(500)) {
                    Self.terminal.contains($0.status)
                }
                let invocation = try #require(ended.invocations?.first)
                #expect(invocation.status == "TimedOut", "\(invocation)")
                #expect(invocation.statusDetails == "Execution Timed Out", "\(invocation)")
                #expect(ended.status == "Failed", "an execution timeout is an error: \(ended)")
                #expect(ended.errorCount == 1)
                let endedAt = try #require(invocation.endedAt)
                let after = endedAt.timeIntervalSince(startedAt)
                print("E2E exec-deadline: TimedOut \(String(format: "%.1f", after)) s after the start (steps 10 s + margin 5 s)")
                #expect(after >= 14.9 && after < 25, "ended \(after) s after the start; expected 15 s (the step's 10 s + the 5 s margin)")
            }
        }
    }

    @Test("rollout with --max-concurrency 1 behind an invocation whose agent died: it times out, then the next agent runs")
    func rolloutBehindAStuckInvocation() async throws {
        try await withSandbox("stuck-rollout") { sb in
            try await withSleepers(sb) { sleepers in
                let (controller, agents, runs) = try await sb.startFleet(count: 2, controllerFlags: ["--execution-deadline-margin", "5"])
                let claim = sb.url("first-claimed")
                // The first to run claims the slot and hangs; the second just answers.
                let script = "if mkdir \(claim.path) 2>/dev/null; then \(sleepers.line("first")); fi; echo second"
                let sent = try await send(sb, controller, [
                    "--target", "*", "--max-concurrency", "1", "--max-errors", "1",
                    "--param", "commands=\(script)", "--param", "executionTimeout=5",
                ])
                let running = try await waitFor("the first invocation to start", sb, controller, sent.commandId, timeout: .seconds(20)) {
                    $0.invocations?.contains { $0.startedAt != nil } == true
                }
                try await sleepers.waitForStart("first")
                let stuck = try #require(running.invocations?.first { $0.startedAt != nil })
                let stuckIndex = try #require(agents.firstIndex { $0.instanceID == stuck.instanceId })
                let other = agents[1 - stuckIndex].instanceID
                try await runs[stuckIndex].kill9()

                let ended = try await waitFor("the command to end", sb, controller, sent.commandId, timeout: .seconds(60), every: .milliseconds(500)) {
                    Self.terminal.contains($0.status)
                }
                let first = try invocation(ended, stuck.instanceId)
                let second = try invocation(ended, other)
                #expect(first.status == "TimedOut" && first.statusDetails == "Execution Timed Out", "\(first)")
                #expect(second.status == "Success" && second.stdout == "second\n", "\(second)")
                if let firstEnd = first.endedAt, let secondStart = second.startedAt {
                    #expect(secondStart >= firstEnd.addingTimeInterval(-1), "the second ran at \(secondStart), before the first ended at \(firstEnd)")
                } else {
                    Issue.record("missing times: \(first) \(second)")
                }
                #expect(ended.status == "Failed" && ended.errorCount == 1, "\(ended)")
            }
        }
    }

    @Test("cancel with a frozen agent: the unstarted invocation is Cancelled at once, the started one after --cancel-grace")
    func cancelAlwaysFinishes() async throws {
        try await withSandbox("cancel-frozen") { sb in
            try await withSleepers(sb) { sleepers in
                // A heartbeat timeout longer than the test's frozen phase: the frozen agent
                // stays connected, so only the new rules can end its invocations.
                let (controller, agents, runs) = try await sb.startFleet(count: 1, heartbeat: .defaults, controllerFlags: [
                    "--cancel-grace", "3", "--heartbeat-interval", "2", "--heartbeat-timeout", "29",
                ])
                let agent = runs[0]
                let started = try await send(sb, controller, ["--target", "*", "--param", "commands=\(sleepers.line("started"))"])
                _ = try await waitFor("the first script to start", sb, controller, started.commandId, timeout: .seconds(20)) {
                    $0.invocations?.first?.startedAt != nil
                }
                try await sleepers.waitForStart("started")

                agent.signal(SIGSTOP)
                defer { agent.signal(SIGCONT) }
                let queued = try await send(sb, controller, ["--target", "*", "--param", "commands=\(sleepers.line("queued"))"])
                let sentToAgent = try await waitFor("the second to be sent", sb, controller, queued.commandId, timeout: .seconds(10)) {
                    $0.invocations?.first?.status == "InProgress"
                }
                #expect(sentToAgent.invocations?.first?.startedAt == nil, "the frozen agent cannot have started it")
                #expect(try await sb.pingStatus(controller, agents[0].instanceID) == "Online")

                // Sent, never started: nothing runs, so it is cancelled at once.
                let cancelQueued = ContinuousClock.now
                let cancel1 = try await sb.tender(controller, ["command", "cancel", queued.commandId])
                #expect(cancel1.exitCode == 0, "\(cancel1)")
                let queuedEnded = try await waitFor("the unstarted invocation to be cancelled", sb, controller, queued.commandId, timeout: .seconds(10), every: .milliseconds(100)) {
                    Self.terminal.contains($0.status)
                }
                let queuedTook = (ContinuousClock.now - cancelQueued).seconds
                #expect(queuedEnded.status == "Cancelled", "\(queuedEnded)")
                #expect(queuedEnded.invocations?.first?.status == "Cancelled", "\(queuedEnded)")
                #expect(queuedTook < 3, "the unstarted invocation took \(queuedTook) s to end")

                // Started on the frozen agent: the controller ends it after the grace.
                let cancelStarted = ContinuousClock.now
                let cancel2 = try await sb.tender(controller, ["command", "cancel", started.commandId])
                #expect(cancel2.exitCode == 0, "\(cancel2)")
                let startedEnded = try await waitFor("the started invocation to be cancelled", sb, controller, started.commandId, timeout: .seconds(20), every: .milliseconds(200)) {
                    Self.terminal.contains($0.status)
                }
                let startedTook = (ContinuousClock.now - cancelStarted).seconds
                print("E2E cancel-frozen: unstarted Cancelled after \(String(format: "%.1f", queuedTook)) s, started after \(String(format: "%.1f", startedTook)) s (grace 3 s)")
                #expect(startedEnded.status == "Cancelled", "\(startedEnded)")
                #expect(startedEnded.invocations?.first?.status == "Cancelled", "\(startedEnded)")
                #expect(startedTook >= 3 && startedTook < 10, "the started invocation ended \(startedTook) s after the cancel; the grace is 3 s")
                #expect(agent.isRunning, "the agent was frozen all along")

                // Thawed, the agent finds the run and the cancel of the second command: it
                // drops it, or starts it and is told to stop it. Either way it does not keep running.
                agent.signal(SIGCONT)
                try await eventually("the cancelled second script not to be running", timeout: .seconds(20), every: .milliseconds(200)) {
                    sleepers.isRunning("queued") ? nil : true
                }
                // Not a fixed sleep: once the thawed agent reports a command sent after
                // everything else, it has read and handled the run and the cancel before it.
                let afterwards = try await send(sb, controller, ["--target", "*", "--param", "commands=echo afterwards"])
                let afterwardsEnded = try await waitFor("a later command to end on the thawed agent", sb, controller, afterwards.commandId, timeout: .seconds(30)) {
                    Self.terminal.contains($0.status)
                }
                #expect(afterwardsEnded.status == "Success", "\(afterwardsEnded)")
                #expect(!sleepers.isRunning("queued"))
                let later = try await show(sb, controller, queued.commandId)
                #expect(later.status == "Cancelled" && later.invocations?.first?.status == "Cancelled", "a late report changed it: \(later)")
            }
        }
    }

    @Test("an invocation cancelled while its agent was cut off, started by the agent later: the agent is told to stop it")
    func startedAfterCancelIsStopped() async throws {
        try await withSandbox("cancel-then-start") { sb in
            try await withSleepers(sb) { sleepers in
                let controller = try await sb.startController()
                let activation = try await sb.createActivation(controller, limit: 1)
                let agent = try await sb.registerAgent("agent0", with: controller, activation: activation)
                // One at a time: the second invocation waits in the agent's own queue.
                let run = try sb.launch("agent-agent0", binary: "tender-agent", ["run", "--state-dir", agent.stateDir.path, "--max-concurrent-invocations", "1"])
                _ = try await sb.waitFor("Online", [agent.instanceID], on: controller, timeout: .seconds(30))

                let busy = try await send(sb, controller, ["--target", "*", "--param", "commands=\(sleepers.line("busy"))"])
                try await sleepers.waitForStart("busy")
                let queued = try await send(sb, controller, ["--target", "*", "--param", "commands=\(sleepers.line("queued"))"])
                _ = try await waitFor("the second to be sent", sb, controller, queued.commandId, timeout: .seconds(10)) {
                    $0.invocations?.first?.status == "InProgress"
                }
                try await Task.sleep(for: .seconds(1))

                // Frozen past the heartbeat timeout: the controller drops the connection, so
                // the agent never hears of the cancel that follows.
                run.signal(SIGSTOP)
                _ = try await sb.waitFor("ConnectionLost", [agent.instanceID], on: controller, timeout: .seconds(20))
                // Delayed: the dispatcher too sees no connection, so no cancel can reach the agent.
                _ = try await waitFor("the queued invocation to wait for its agent", sb, controller, queued.commandId, timeout: .seconds(10)) {
                    $0.invocations?.first?.status == "Delayed"
                }
                let cancel = try await sb.tender(controller, ["command", "cancel", queued.commandId])
                #expect(cancel.exitCode == 0, "\(cancel)")
                let cancelled = try await waitFor("the queued invocation to be cancelled", sb, controller, queued.commandId, timeout: .seconds(5), every: .milliseconds(100)) {
                    Self.terminal.contains($0.status)
                }
                #expect(cancelled.status == "Cancelled" && cancelled.invocations?.first?.status == "Cancelled", "\(cancelled)")
                run.signal(SIGCONT)
                _ = try await sb.waitFor("Online", [agent.instanceID], on: controller, timeout: .seconds(30))

                // The first ends; the agent starts the one it still holds, says so, and is told to stop.
                let cancelBusy = try await sb.tender(controller, ["command", "cancel", busy.commandId])
                #expect(cancelBusy.exitCode == 0, "\(cancelBusy)")
                // Read from the agent's own log: the controller's cancel can reach it before
                // the script has even written its pid file.
                let queuedID = "\(queued.commandId)_\(agent.instanceID)"
                func agentSaid(_ text: String) -> Bool {
                    run.stderr.split(separator: "\n").contains { $0.contains(text) && $0.contains(queuedID) }
                }
                do {
                    try await eventually("the agent to start the invocation it still had queued", timeout: .seconds(20), every: .milliseconds(100)) {
                        agentSaid("invocation started") ? true : nil
                    }
                    try await eventually("the controller to tell the agent to stop it", timeout: .seconds(20), every: .milliseconds(100)) {
                        agentSaid("cancelling a running invocation") ? true : nil
                    }
                } catch {
                    Issue.record("\(error); agent log:\n\(run.logTail())")
                    throw error
                }
                try await eventually("the started, cancelled script to be stopped", timeout: .seconds(20), every: .milliseconds(200)) {
                    sleepers.isRunning("queued") ? nil : true
                }
                let later = try await show(sb, controller, queued.commandId)
                #expect(later.status == "Cancelled" && later.invocations?.first?.status == "Cancelled", "a late report changed it: \(later)")
            }
        }
    }

    @Test("--max-output-bytes 65536 and a 1 MB script output: Success, 65536 bytes kept plus the truncation note")
    func outputOverTheCap() async throws {
        try await withSandbox("output-cap") { sb in
            let (controller, agents, _) = try await sb.startFleet(count: 1, controllerFlags: ["--max-output-bytes", "65536"])
            let result = try await sb.tender(controller, ["command", "send", "--document", "Tender-RunShellScript", "--target", "*",
                                                          "--param", "commands=head -c 1000000 /dev/zero | tr '\\0' 'x'", "--wait"])
            #expect(result.exitCode == 0, "\(result)")
            let command = try RunCommandTests.decodeCommand(result)
            #expect(command.status == "Success", "\(command)")
            let full = try await sb.tender(controller, ["command", "output", command.commandId, "--instance", agents[0].instanceID], json: false)
            #expect(full.exitCode == 0, "\(full)")
            let note = "\n[tender: output truncated by the controller: 1000000 bytes, of which the first 65536 were kept (the limit per stream)]\n"
            #expect(full.stdout == String(repeating: "x", count: 65536) + note,
                    "got \(full.stdout.utf8.count) bytes ending \(String(full.stdout.suffix(160)).debugDescription)")
            let stderr = try await sb.tender(controller, ["command", "output", command.commandId, "--instance", agents[0].instanceID, "--stderr"], json: false)
            #expect(stderr.exitCode == 0 && stderr.stdout.isEmpty, "\(stderr)")
        }
    }

    @Test("deregistering instances ends their running and pending invocations Failed / Undeliverable, and the command finishes")
    func deregistrationEndsInvocations() async throws {
        try await withSandbox("deregister") { sb in
            try await withSleepers(sb) { sleepers in
                let (controller, agents, runs) = try await sb.startFleet(count: 3)
                // agent2 is offline: its invocation waits (Pending/Delayed).
                try await runs[2].kill9()
                _ = try await sb.waitFor("ConnectionLost", [agents[2].instanceID], on: controller, timeout: .seconds(15))

                let claim = sb.url("claimed")
                let script = "if mkdir \(claim.path) 2>/dev/null; then \(sleepers.line("hung")); fi; echo ok"
                // One at a time: the hung one holds the only slot until it is deregistered.
                let sent = try await send(sb, controller, ["--target", "*", "--max-concurrency", "1", "--param", "commands=\(script)"])
                let running = try await waitFor("one invocation to start", sb, controller, sent.commandId, timeout: .seconds(20)) {
                    $0.invocations?.contains { $0.startedAt != nil } == true
                }
                try await sleepers.waitForStart("hung")
                let hung = try #require(running.invocations?.first { $0.startedAt != nil }?.instanceId)
                let waiting = agents[2].instanceID
                let healthy = try #require(agents.map(\.instanceID).first { $0 != hung && $0 != waiting })
                try await Task.sleep(for: .seconds(1))
                let before = try await show(sb, controller, sent.commandId)
                #expect(try invocation(before, healthy).status == "Pending", "the window of 1 is taken: \(before)")
                #expect(["Pending", "Delayed"].contains(try invocation(before, waiting).status), "\(before)")

                for id in [hung, waiting] {
                    let result = try await sb.tender(controller, ["instance", "deregister", id])
                    #expect(result.exitCode == 0, "\(result)")
                }
                let ended = try await waitFor("the command to finish", sb, controller, sent.commandId, timeout: .seconds(30)) {
                    Self.terminal.contains($0.status)
                }
                for id in [hung, waiting] {
                    let inv = try invocation(ended, id)
                    #expect(inv.status == "Failed" && inv.statusDetails == "Undeliverable", "\(id): \(inv)")
                }
                let ok = try invocation(ended, healthy)
                #expect(ok.status == "Success" && ok.stdout == "ok\n", "the freed slot goes to the next: \(ok)")
                #expect(ended.status == "Success" && ended.statusDetails == "Incomplete", "\(ended)")
                #expect(ended.errorCount == 0, "Undeliverable is not an error: \(ended)")
            }
        }
    }

    @Test("a command that resolves to more than one frame is refused: HTTP 413, exit 2, the bytes over the limit; nothing stored")
    func oversizeCommandIsRefused() async throws {
        try await withSandbox("oversize-command") { sb in
            let (controller, _, _) = try await sb.startFleet(count: 1)
            // A 100 kB value (under the 1 MiB request limit) referenced 11 times: 1.1 MB resolved.
            let file = sb.url("Copies.yaml")
            let lines = (0..<11).map { _ in "      - \"echo {{ blob }}\"" }.joined(separator: "\n")
            try """
            schemaVersion: "2.2"
            parameters:
              blob: {type: String}
            mainSteps:
              - action: aws:runShellScript
                name: copies
                inputs:
                  runCommand:
            \(lines)
            """.write(to: file, atomically: true, encoding: .utf8)
            let created = try await sb.tender(controller, ["document", "create", "--file", file.path])
            #expect(created.exitCode == 0, "\(created)")
            let value = String(repeating: "a", count: 100_000)

            let refused = try await sb.tender(controller, ["command", "send", "--document", "Copies", "--target", "*", "--param", "blob=\(value)"])
            #expect(refused.exitCode == 2, "\(refused.exitCode): \(refused.stderr.prefix(600))")
            let match = refused.stderr.firstMatch(of: /(\d+) bytes over the limit of 1048576 bytes/)
            let over = match.flatMap { Int($0.1) } ?? -1
            // At least the 11 copies of "echo " + the value, less the limit.
            #expect((51_479..<53_000).contains(over), "stderr: \(refused.stderr.prefix(600))")

            struct Body: Encodable {
                let documentName: String
                let parameters: [String: String]
                let targets: [String]
            }
            let body = String(decoding: try JSONEncoder().encode(Body(documentName: "Copies", parameters: ["blob": value], targets: ["*"])), as: UTF8.self)
            let api = try await sb.http("POST", controller.apiURL + "/v1/commands", caPath: controller.caPath, token: controller.adminToken, body: body)
            #expect(api.status == 413, "\(api.status) \(api.body.prefix(400))")
            #expect(api.apiError?.error.message.contains("bytes over the limit of 1048576 bytes") == true, "\(api.body.prefix(400))")

            let list = try await sb.tender(controller, ["command", "list"])
            #expect(list.exitCode == 0)
            #expect(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "nothing may be stored: \(list.stdout.prefix(400))")
        }
    }
}
