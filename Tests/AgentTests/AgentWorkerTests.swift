import Foundation
import Logging
import Testing
@testable import Agent
@testable import TenderWire

/// Drives `AgentWorker` directly: real scripts, a real spool on disk, and a recording
/// sender in place of the channel.
@Suite("Agent worker")
struct AgentWorkerTests {
    /// Stands in for the channel: keeps every message the worker sends.
    actor Recorder {
        private(set) var messages: [ChannelMessage] = []
        /// When each of `messages` was sent.
        private(set) var times: [ContinuousClock.Instant] = []

        nonisolated var sender: AgentWorker.Sender {
            { message in await self.record(message) }
        }

        private func record(_ message: ChannelMessage) {
            messages.append(message)
            times.append(.now)
        }

        /// Waits up to `timeout` for `condition` to hold over what was sent.
        func wait(for timeout: Duration = .seconds(20), until condition: ([ChannelMessage]) -> Bool) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if condition(messages) { return true }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return condition(messages)
        }

        func results(_ id: String) -> [InvocationResult] { messages.compactMap { $0.result(for: id) } }
        /// When each result for `id` was sent.
        func resultTimes(_ id: String) -> [ContinuousClock.Instant] {
            zip(messages, times).compactMap { $0.0.result(for: id) == nil ? nil : $0.1 }
        }
        /// The full output of one stream as the controller would assemble it from the pieces.
        func output(_ id: String, _ stream: String) -> Data {
            var assembled = Data()
            for message in messages {
                guard case .invocationOutput(let chunk) = message, chunk.invocationId == id, chunk.stream == stream,
                      let data = Data(base64Encoded: chunk.data), chunk.offset <= assembled.count else { continue }
                assembled.replaceSubrange(chunk.offset..<min(assembled.count, chunk.offset + data.count), with: data)
            }
            return assembled
        }
        /// `accepted`, `started` and `result` for `id`, in the order they were sent.
        func trace(_ id: String) -> [String] { messages.compactMap { $0.kind(for: id) } }
    }

    struct Setup {
        let dir: URL
        let worker: AgentWorker
        let recorder = Recorder()
        var state: AgentStateDirectory { AgentStateDirectory(dir.path) }
        func file(_ name: String) -> URL { dir.appendingPathComponent(name) }
    }

    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A worker on a fresh state dir, connected to a recorder; waits for its work and
    /// removes the dir afterwards.
    func withWorker(maxConcurrent: Int = 5, connect: Bool = true, resendInterval: Duration = AgentWorker.defaultResendInterval,
                    resendCap: Duration = AgentWorker.defaultResendCap,
                    prepare: (URL) throws -> Void = { _ in }, _ body: (Setup) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-worker-\(Identifiers.randomHex(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try prepare(dir)
        let setup = Setup(dir: dir, worker: try AgentWorker(state: AgentStateDirectory(dir.path), maxConcurrent: maxConcurrent,
                                                            resendInterval: resendInterval, resendCap: resendCap, logger: Self.quiet))
        try await setup.worker.start()
        if connect { await setup.worker.connected(sender: setup.recorder.sender) }
        do {
            try await body(setup)
        } catch {
            await setup.worker.waitUntilIdle()
            throw error
        }
        await setup.worker.waitUntilIdle()
    }

    static func invocation(_ n: Int, _ lines: [String], timeout: Int = 3600) -> RunInvocation {
        let commandID = "cmd-\(n)"
        return RunInvocation(
            invocationId: RunInvocation.id(commandID: commandID, instanceID: "mi-0123456789abcdef0"), commandId: commandID,
            documentName: "AWS-RunShellScript",
            steps: [ResolvedStep(action: "aws:runShellScript", name: "run",
                                 inputs: RunShellScriptInputs(runCommand: lines, timeoutSeconds: timeout).documentValue)])
    }

    func lines(_ url: URL) -> [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// True while `pid` is a live (not zombie) process.
    func alive(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.contains("State:\tZ")
    }

    @Test func aRunIsAcceptedStartedAndReportedUntilConfirmed() async throws {
        try await withWorker { s in
            let run = Self.invocation(1, ["echo hi", "echo \"$TENDER_COMMAND_ID $TENDER_INVOCATION_ID\" >&2"])
            let id = run.invocationId
            await s.worker.receive(run)
            #expect(await s.recorder.wait { $0.contains { $0.result(for: id) != nil } })
            #expect(await s.recorder.trace(id) == ["accepted", "started", "result"])
            let result = try #require(await s.recorder.results(id).first)
            #expect(result.status == .success)
            #expect(result.statusDetails == StatusDetails.success)
            #expect(result.responseCode == 0)
            #expect(result.stdout == "hi\n")
            #expect(result.stderr == "cmd-1 \(id)\n")
            #expect(await s.recorder.output(id, "stdout") == Data("hi\n".utf8))
            #expect(result.stdoutSize == 3)
            #expect(result.startedAt != nil)
            #expect(s.worker.spool.state(of: id) == .finished)
            #expect(!FileManager.default.fileExists(atPath: s.worker.workRoot.appendingPathComponent(id).path), "the work dir goes once the result is recorded")

            // Not confirmed: every connect sends it again.
            await s.worker.disconnected()
            let second = Recorder()
            await s.worker.connected(sender: second.sender)
            #expect(await second.wait { $0.contains { $0.result(for: id) != nil } })
            // The same result as on the wire (the spool keeps dates to the second, as JSON does).
            let resent = try #require(await second.results(id).first)
            #expect(try JSON.encoder().encode(resent) == JSON.encoder().encode(result))

            await s.worker.confirmed(id)
            #expect(s.worker.spool.state(of: id) == .confirmed)
            await s.worker.disconnected()
            let third = Recorder()
            await s.worker.connected(sender: third.sender)
            #expect(!(await third.wait(for: .milliseconds(500)) { $0.contains { $0.result(for: id) != nil } }), "a confirmed result is not sent again")
        }
    }

    @Test func anUnconfirmedResultIsSentAgainWhileConnectedWithBackoffUntilConfirmed() async throws {
        let base: Duration = .milliseconds(200)
        let cap: Duration = .milliseconds(800)
        try await withWorker(resendInterval: base, resendCap: cap) { s in
            let run = Self.invocation(1, ["echo once"])
            let id = run.invocationId
            await s.worker.receive(run)
            // The first send and four resends, without a reconnect: the controller did not confirm.
            #expect(await s.recorder.wait(for: .seconds(30)) { $0.compactMap { $0.result(for: id) }.count >= 5 })
            let times = await s.recorder.resultTimes(id)
            try #require(times.count >= 5)
            let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
            // Never before due: base, then doubling, then held at the cap.
            #expect(gaps[0] >= base, "\(gaps)")
            #expect(gaps[1] >= base * 2, "\(gaps)")
            #expect(gaps[2] >= cap && gaps[3] >= cap, "\(gaps)")
            #expect(gaps[0] < base + .seconds(5), "resent soon, while connected: \(gaps)")
            #expect(await s.worker.resendBackoff(of: id) == cap, "the backoff stops doubling at the cap")
            let results = await s.recorder.results(id)
            #expect(Set(try results.map { try JSON.encoder().encode($0) }).count == 1, "the same result each time")

            // A reconnect sends it at once and starts the backoff over; the old channel gets nothing more.
            await s.worker.disconnected()
            let before = await s.recorder.results(id).count
            let second = Recorder()
            await s.worker.connected(sender: second.sender)
            #expect(await second.wait { $0.compactMap { $0.result(for: id) }.count >= 2 })
            let again = await second.resultTimes(id)
            #expect(again.count >= 2 && again[1] - again[0] >= base)
            #expect(await s.recorder.results(id).count == before)

            // Confirmed: never again.
            await s.worker.confirmed(id)
            #expect(await s.worker.resendBackoff(of: id) == nil)
            let confirmedAt = await second.results(id).count
            try await Task.sleep(for: cap * 2 + .milliseconds(400))
            #expect(await second.results(id).count == confirmedAt, "a confirmed result is not sent again")
        }
    }

    /// The production schedule (docs/run-command.md, "Never lost"): the worker the agent
    /// builds passes no resend settings, so it gets these.
    @Test("an unconfirmed result goes out again 10 s after it was sent, the wait doubling up to 5 minutes")
    func resendDefaults() async throws {
        #expect(AgentWorker.defaultResendInterval == .seconds(10))
        #expect(AgentWorker.defaultResendCap == .seconds(300))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-worker-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let worker = try AgentWorker(state: AgentStateDirectory(dir.path), logger: Self.quiet)
        #expect(worker.resendInterval == .seconds(10))
        #expect(worker.resendCap == .seconds(300))
        #expect(worker.spool.tombstoneLifetime == 7 * 86400, "the agent's spool keeps tombstones 7 days")
    }

    @Test func workFinishedWhileDisconnectedIsReportedOnConnect() async throws {
        try await withWorker(connect: false) { s in
            let run = Self.invocation(1, ["echo offline"])
            await s.worker.receive(run)
            await s.worker.waitUntilIdle()
            #expect(s.worker.spool.state(of: run.invocationId) == .finished)
            await s.worker.connected(sender: s.recorder.sender)
            #expect(await s.recorder.wait { $0.contains { $0.result(for: run.invocationId) != nil } })
            #expect(await s.recorder.results(run.invocationId).first?.stdout == "offline\n")
        }
    }

    @Test func aDuplicateIsAcknowledgedButNeverRunAgain() async throws {
        try await withWorker { s in
            let counter = s.file("runs")
            let run = Self.invocation(1, ["echo ran >> \(counter.path)", "sleep 0.3"])
            let id = run.invocationId
            await s.worker.receive(run)
            await s.worker.receive(run)  // while waiting or running
            #expect(await s.recorder.wait { $0.contains { $0.result(for: id) != nil } })
            await s.worker.receive(run)  // finished: the result goes out again
            #expect(await s.recorder.wait { $0.compactMap { $0.result(for: id) }.count == 2 })
            await s.worker.confirmed(id)
            await s.worker.receive(run)  // after confirmation: acknowledged only
            await s.worker.waitUntilIdle()
            try await Task.sleep(for: .milliseconds(300))
            #expect(lines(counter) == ["ran"])
            let trace = await s.recorder.trace(id)
            #expect(trace.filter { $0 == "accepted" }.count == 4)
            #expect(trace.filter { $0 == "result" }.count == 2)
        }
    }

    @Test func atMostMaxConcurrentRunAtOnceInArrivalOrder() async throws {
        try await withWorker(maxConcurrent: 2) { s in
            let log = s.file("log")
            // Each pair meets before sleeping (run k waits, at most 20 s, until 2·⌈k/2⌉ runs
            // have started), so the two slots overlap however slow the machine is: a
            // worker that used one slot would leave the peak at 1, one that used three at 3.
            let runs = (1...6).map { k in
                Self.invocation(k, [
                    "echo +$TENDER_COMMAND_ID >> \(log.path)",
                    "for i in $(seq 200); do [ \"$(grep -c '^+' \(log.path))\" -ge \(2 * ((k + 1) / 2)) ] && break; sleep 0.1; done",
                    "sleep 1",
                    "echo - >> \(log.path)",
                ])
            }
            let started = ContinuousClock.now
            for run in runs { await s.worker.receive(run) }
            #expect(await s.recorder.wait(for: .seconds(30)) { messages in runs.allSatisfy { run in messages.contains { $0.result(for: run.invocationId) != nil } } })
            #expect(ContinuousClock.now - started >= .seconds(3), "six one-second runs two at a time take three seconds")

            // The scripts' own view: never more than two between + and -.
            var current = 0
            var peak = 0
            for line in lines(log) {
                current += line.hasPrefix("+") ? 1 : -1
                peak = max(peak, current)
            }
            #expect(peak == 2)
            // The channel's view: never more than two started without a result.
            var open = 0
            for message in await s.recorder.messages {
                if case .invocationStarted = message { open += 1 }
                if case .invocationResult = message { open -= 1 }
                #expect(open <= 2)
            }
            // First come, first served.
            let starts = lines(log).filter { $0.hasPrefix("+") }
            #expect(Set(starts.prefix(2)) == ["+cmd-1", "+cmd-2"])
            #expect(Set(starts.suffix(2)) == ["+cmd-5", "+cmd-6"])
        }
    }

    @Test func cancellingARunningInvocationKillsItsProcessGroup() async throws {
        try await withWorker { s in
            let pidFile = s.file("child.pid")
            let run = Self.invocation(1, ["sleep 300 &", "echo $! > \(pidFile.path)", "wait"])
            let id = run.invocationId
            await s.worker.receive(run)
            #expect(await s.recorder.wait { _ in !lines(pidFile).isEmpty })
            let child = try #require(lines(pidFile).first.flatMap { Int32($0) })
            #expect(alive(child))
            let cancelled = ContinuousClock.now
            await s.worker.cancel(id)
            #expect(await s.recorder.wait(for: .seconds(10)) { $0.contains { $0.result(for: id) != nil } })
            #expect(ContinuousClock.now - cancelled < .seconds(5))
            let result = try #require(await s.recorder.results(id).first)
            #expect(result.status == .cancelled)
            #expect(result.statusDetails == StatusDetails.cancelled)
            try await Task.sleep(for: .milliseconds(200))
            #expect(!alive(child), "the script's children go with it")
        }
    }

    @Test func cancellingAQueuedInvocationDropsItWithoutRunningIt() async throws {
        try await withWorker(maxConcurrent: 1) { s in
            let blocker = Self.invocation(1, ["sleep 300"])
            let marker = s.file("ran")
            let queued = Self.invocation(2, ["touch \(marker.path)"])
            await s.worker.receive(blocker)
            await s.worker.receive(queued)
            #expect(await s.recorder.wait { $0.contains { $0.kind(for: blocker.invocationId) == "started" } })
            await s.worker.cancel(queued.invocationId)
            let result = try #require(await s.recorder.results(queued.invocationId).first, "a queued cancel is answered at once")
            #expect(result.status == .cancelled)
            #expect(result.statusDetails == StatusDetails.cancelled)
            #expect(result.startedAt == nil)
            #expect(s.worker.spool.state(of: queued.invocationId) == .finished)

            await s.worker.cancel(blocker.invocationId)
            #expect(await s.recorder.wait { $0.contains { $0.result(for: blocker.invocationId) != nil } })
            await s.worker.waitUntilIdle()
            #expect(!FileManager.default.fileExists(atPath: marker.path))
            #expect(await s.recorder.trace(queued.invocationId) == ["accepted", "result"], "never started")
            await s.worker.cancel("cmd-9_mi-0123456789abcdef0")  // unknown: ignored
            await s.worker.cancel("../escape")
        }
    }

    @Test("a cancel that arrives before its invocation makes a late delivery of it a duplicate that never runs")
    func cancellingAnInvocationNotYetReceivedKeepsItFromRunning() async throws {
        try await withWorker { s in
            let marker = s.file("ran")
            let late = Self.invocation(3, ["touch \(marker.path)"])
            await s.worker.cancel(late.invocationId)
            #expect(s.worker.spool.state(of: late.invocationId) == .confirmed)
            await s.worker.receive(late)
            await s.worker.waitUntilIdle()
            try await Task.sleep(for: .milliseconds(300))
            #expect(!FileManager.default.fileExists(atPath: marker.path), "a cancelled invocation must never run")
            #expect(await s.recorder.trace(late.invocationId) == ["accepted"], "acknowledged as a duplicate, never started")
        }
    }

    @Test func anInvocationCutShortByACrashIsReportedFailedAndNeverRerun() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("tender-marker-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: marker) }
        let interrupted = Self.invocation(1, ["touch \(marker.path)"])
        let waiting = Self.invocation(2, ["echo resumed"])
        // What a killed agent leaves: one item marked started without an outcome, one only received.
        try await withWorker(connect: false, prepare: { dir in
            let spool = try Spool<RunInvocation, InvocationResult>(directory: AgentStateDirectory(dir.path).spoolDirectory)
            #expect(try spool.accept(id: interrupted.invocationId, item: interrupted) == .accepted)
            try spool.markStarted(id: interrupted.invocationId)
            #expect(try spool.accept(id: waiting.invocationId, item: waiting) == .accepted)
            let leftover = AgentStateDirectory(dir.path).workDirectory.appendingPathComponent(interrupted.invocationId)
            try FileManager.default.createDirectory(at: leftover, withIntermediateDirectories: true)
        }) { s in
            await s.worker.connected(sender: s.recorder.sender)
            #expect(await s.recorder.wait { m in m.contains { $0.result(for: interrupted.invocationId) != nil } && m.contains { $0.result(for: waiting.invocationId) != nil } })
            let failed = try #require(await s.recorder.results(interrupted.invocationId).first)
            #expect(failed.status == .failed)
            #expect(failed.statusDetails == StatusDetails.failed)
            #expect(failed.stderr.contains("the agent stopped while this invocation was running"))
            #expect(failed.startedAt != nil, "the start mark's time")
            #expect(await s.recorder.trace(interrupted.invocationId) == ["result"], "not started again")
            #expect(!FileManager.default.fileExists(atPath: s.worker.workRoot.appendingPathComponent(interrupted.invocationId).path))
            let resumed = try #require(await s.recorder.results(waiting.invocationId).first)
            #expect(resumed.status == .success)
            #expect(resumed.stdout == "resumed\n")

            // A second start (and a redelivery) changes nothing.
            try await s.worker.start()
            await s.worker.receive(interrupted)
            await s.worker.waitUntilIdle()
            #expect(await s.recorder.results(interrupted.invocationId).allSatisfy { $0.status == .failed })
            #expect(!FileManager.default.fileExists(atPath: marker.path), "the interrupted script never ran again")
        }
    }

    /// kill -9 as the worker lives it: it marked and started the script itself (which
    /// counted its run and is still going), then vanished with its memory, leaving the disk
    /// as it was. The next worker over that state must report it Failed and never run it,
    /// whether the start mark is there or not is the worker's doing, not the test's.
    @Test("an invocation running when its worker died is reported Failed by the next worker over that state, never run again")
    func anInvocationRunningWhenTheWorkerDiedIsReportedFailedAndNeverRerun() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tender-crash-\(Identifiers.randomHex(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let counter = root.appendingPathComponent("runs")
        let release = root.appendingPathComponent("release")
        // Counts its run, then blocks until released (30 s at most).
        let run = Self.invocation(1, ["echo run >> \(counter.path)", "for i in $(seq 600); do [ -e \(release.path) ] && break; sleep 0.05; done"])
        let id = run.invocationId

        let stateAtCrash = root.appendingPathComponent("state")
        let dead = try AgentWorker(state: AgentStateDirectory(stateAtCrash.path), logger: Self.quiet)
        try await dead.start()
        let before = Recorder()
        await dead.connected(sender: before.sender)
        await dead.receive(run)
        let running = await before.wait { _ in lines(counter) == ["run"] }
        // The crash. The state moves away from under the old worker, so nothing it does
        // from now on (its script is stopped, its result recorded) reaches what the next
        // worker finds: that is exactly what the disk held when the process died.
        let stateAfterCrash = root.appendingPathComponent("state-after-crash")
        try FileManager.default.moveItem(at: stateAtCrash, to: stateAfterCrash)
        await dead.disconnected()
        await dead.cancel(id)
        await dead.waitUntilIdle()
        try #require(running, "the script never started")

        // A re-run would now finish at once instead of blocking.
        try Data().write(to: release)
        // One slot, taken in arrival order: the later invocation below runs only after
        // whatever the restart queued, so its result proves the worker had its chance.
        let restarted = try AgentWorker(state: AgentStateDirectory(stateAfterCrash.path), maxConcurrent: 1, logger: Self.quiet)
        try await restarted.start()
        let after = Recorder()
        await restarted.connected(sender: after.sender)
        #expect(await after.wait { $0.contains { $0.result(for: id) != nil } }, "the restarted worker reports the interrupted invocation")
        let later = Self.invocation(2, ["echo later"])
        await restarted.receive(later)
        #expect(await after.wait { $0.contains { $0.result(for: later.invocationId) != nil } })
        await restarted.waitUntilIdle()

        let results = await after.results(id)
        let reported = try #require(results.first)
        #expect(reported.status == .failed, "\(reported)")
        #expect(reported.statusDetails == StatusDetails.failed)
        #expect(reported.stderr.contains(AgentWorker.interruptedMessage), "\(reported.stderr)")
        #expect(results.allSatisfy { $0.status == .failed })
        #expect(await after.trace(id) == ["result"], "not started again")
        #expect(lines(counter) == ["run"], "the script ran \(lines(counter).count) times")
    }

    @Test func fullOutputOfAnySizeTravelsInPiecesUnderTheFrameLimit() async throws {
        try await withWorker { s in
            // 2 MB of control characters (the most expensive text to encode) on both streams.
            let run = Self.invocation(1, ["head -c 2000000 /dev/zero | tr '\\0' '\\001'", "head -c 700000 /dev/zero | tr '\\0' '\\002' >&2"])
            await s.worker.receive(run)
            #expect(await s.recorder.wait { $0.contains { $0.result(for: run.invocationId) != nil } })
            let result = try #require(await s.recorder.results(run.invocationId).first)
            #expect(result.stdoutSize == 2_000_000 && result.stderrSize == 700_000)
            let out = await s.recorder.output(run.invocationId, "stdout")
            let err = await s.recorder.output(run.invocationId, "stderr")
            #expect(out.count == 2_000_000 && out.allSatisfy { $0 == 1 })
            #expect(err.count == 700_000 && err.allSatisfy { $0 == 2 })
            #expect(result.stdout.hasSuffix(OutputLimits.truncationMarker))
            for message in await s.recorder.messages {
                #expect(try ChannelCodec().encode(message, id: UUID().uuidString).count < ChannelProtocol.maxFrameSize)
            }
            // Asked again from an offset, the worker sends the rest and the result again.
            await s.worker.outputWanted(OutputWanted(invocationId: run.invocationId, stdoutOffset: 1_900_000, stderrOffset: 700_000))
            let last = await s.recorder.messages.suffix(2)
            #expect(last.last?.result(for: run.invocationId) != nil)
            if case .invocationOutput(let chunk)? = last.first {
                #expect(chunk.offset == 1_900_000 && chunk.stream == "stdout" && Data(base64Encoded: chunk.data)?.count == 100_000)
            } else {
                Issue.record("expected the missing piece before the result")
            }
        }
    }

    @Test func aBadIdIsAnsweredWithAnErrorAndNothingIsSpooled() async throws {
        try await withWorker { s in
            var run = Self.invocation(1, ["echo no"])
            run.invocationId = "../../etc/evil"
            await s.worker.receive(run)
            let messages = await s.recorder.messages
            #expect(messages.count == 1)
            guard case .error(let notice)? = messages.first else {
                Issue.record("expected an error notice, got \(messages)")
                return
            }
            #expect(notice.code == TenderError.Code.validation.rawValue)
            let unconfirmed = try s.worker.spool.unconfirmedIDs()
            let recovery = try s.worker.spool.recover()
            #expect(unconfirmed.isEmpty)
            #expect(recovery.toRun.isEmpty && recovery.interrupted.isEmpty)
        }
    }

    @Test func stepsThatCannotRunEndFailedWithTheReason() async throws {
        try await withWorker { s in
            var run = Self.invocation(1, ["echo no"])
            run.steps[0].inputs = RunShellScriptInputs(runCommand: ["pwd"], workingDirectory: "/no/such/dir").documentValue
            await s.worker.receive(run)
            #expect(await s.recorder.wait { $0.contains { $0.result(for: run.invocationId) != nil } })
            let result = try #require(await s.recorder.results(run.invocationId).first)
            #expect(result.status == .failed)
            #expect(result.stderr.contains("/no/such/dir"))
        }
    }
}

extension ChannelMessage {
    func result(for id: String) -> InvocationResult? {
        if case .invocationResult(let result) = self, result.invocationId == id { return result }
        return nil
    }

    func kind(for id: String) -> String? {
        switch self {
        case .invocationAccepted(let ref) where ref.invocationId == id: return "accepted"
        case .invocationStarted(let ref) where ref.invocationId == id: return "started"
        case .invocationResult(let result) where result.invocationId == id: return "result"
        default: return nil
        }
    }
}
