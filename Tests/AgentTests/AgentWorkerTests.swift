import Foundation
import Logging
import Testing
@testable import Agent
@testable import Shared

/// Drives `AgentWorker` directly: real scripts, a real spool on disk, and a recording
/// sender in place of the channel.
@Suite("Agent worker")
struct AgentWorkerTests {
    /// Stands in for the channel: keeps every message the worker sends.
    actor Recorder {
        private(set) var messages: [ChannelMessage] = []

        nonisolated var sender: AgentWorker.Sender {
            { message in await self.record(message) }
        }

        private func record(_ message: ChannelMessage) { messages.append(message) }

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
    func withWorker(maxConcurrent: Int = 5, connect: Bool = true, prepare: (URL) throws -> Void = { _ in }, _ body: (Setup) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-worker-\(Identifiers.randomHex(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try prepare(dir)
        let setup = Setup(dir: dir, worker: try AgentWorker(state: AgentStateDirectory(dir.path), maxConcurrent: maxConcurrent, logger: Self.quiet))
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
            #expect(result.fullStdout.flatMap { Data(base64Encoded: $0) } == Data("hi\n".utf8))
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
            let runs = (1...6).map { Self.invocation($0, ["echo +$TENDER_COMMAND_ID >> \(log.path)", "sleep 1", "echo - >> \(log.path)"]) }
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

    @Test func fullOutputOverTheLimitIsCutWithANote() async throws {
        try await withWorker { s in
            let run = Self.invocation(1, ["head -c 700000 /dev/zero | tr '\\0' 'x'", "echo small >&2"])
            await s.worker.receive(run)
            #expect(await s.recorder.wait { $0.contains { $0.result(for: run.invocationId) != nil } })
            let result = try #require(await s.recorder.results(run.invocationId).first)
            let full = try #require(result.fullStdout.flatMap { Data(base64Encoded: $0) })
            #expect(full.count <= InvocationResult.maxFullOutputBytes)
            let text = String(decoding: full, as: UTF8.self)
            #expect(text.hasSuffix(" of 700000 bytes ---\n"))
            #expect(text.contains("--- output cut: the agent sent the first "))
            #expect(text.hasPrefix(String(repeating: "x", count: 500_000)))
            #expect(result.fullStderr.flatMap { Data(base64Encoded: $0) } == Data("small\n".utf8), "the small stream stays whole")
            #expect(result.stdout.hasSuffix(OutputLimits.truncationMarker))
        }
    }

    @Test func aResultWithBothStreamsFloodedFitsInOneFrame() async throws {
        try await withWorker { s in
            // Control characters: the most expensive inline text to encode as JSON.
            let run = Self.invocation(1, ["head -c 2000000 /dev/zero | tr '\\0' '\\001'", "head -c 2000000 /dev/zero | tr '\\0' '\\002' >&2"])
            await s.worker.receive(run)
            #expect(await s.recorder.wait { $0.contains { $0.result(for: run.invocationId) != nil } })
            let result = try #require(await s.recorder.results(run.invocationId).first)
            let out = try #require(result.fullStdout.flatMap { Data(base64Encoded: $0) })
            let err = try #require(result.fullStderr.flatMap { Data(base64Encoded: $0) })
            #expect(out.count + err.count <= InvocationResult.maxFullOutputBytes)
            #expect(out.count >= InvocationResult.maxFullOutputBytes / 2 - 200)
            #expect(err.count >= InvocationResult.maxFullOutputBytes / 2 - 200)
            let frame = try ChannelCodec().encode(.invocationResult(result), id: UUID().uuidString)
            #expect(frame.count < ChannelProtocol.maxFrameSize)
        }
    }

    @Test func outputSharesAndUTF8Cuts() {
        func shares(_ stdout: Int, _ stderr: Int) -> [Int] {
            let share = FullOutput.shares(stdoutSize: stdout, stderrSize: stderr, budget: 100)
            return [share.stdout, share.stderr]
        }
        #expect(shares(10, 20) == [10, 20])
        #expect(shares(500, 20) == [80, 20])
        #expect(shares(20, 500) == [20, 80])
        #expect(shares(500, 500) == [50, 50])
        #expect(shares(70, 40) == [60, 40])
        #expect(FullOutput.completeUTF8Length(Data("abc".utf8)) == 3)
        #expect(FullOutput.completeUTF8Length(Data("ab€".utf8)) == 5)
        #expect(FullOutput.completeUTF8Length(Data("ab€".utf8).dropLast()) == 2)
        #expect(FullOutput.completeUTF8Length(Data("ab€".utf8).dropLast(2)) == 2)
        #expect(FullOutput.completeUTF8Length(Data([0x80, 0x80, 0x80, 0x80])) == 4)
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
