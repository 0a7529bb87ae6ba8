#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TenderWire
import Subprocess
import SystemPackage

/// The agent's side of Run Command: takes work from the channel, spools it, runs it
/// (at most `maxConcurrent` at once, the rest in arrival order) and reports on it
/// until the controller confirms it stored the result (docs/run-command.md, "Never lost").
///
/// The spool is the source of truth; memory only holds what is queued and running.
/// So the channel can come and go freely: a message that cannot be sent is simply
/// dropped, and whatever matters (results) is read from the spool and sent again on
/// the next connect, and while connected again and again with backoff until the
/// controller confirms it (it may have failed to store it: a database error, a full
/// disk). The controller stores a result once and ignores repeats.
public actor AgentWorker {
    /// Writes one message to the controller; throws when the channel is gone.
    public typealias Sender = @Sendable (ChannelMessage) async throws -> Void

    public static let defaultMaxConcurrent = 5
    /// An unconfirmed result goes out again this long after it was last sent...
    public static let defaultResendInterval: Duration = .seconds(10)
    /// ...then twice as long after each resend, up to this.
    public static let defaultResendCap: Duration = .seconds(300)

    /// What an invocation that a crash, kill or reboot cut short reports. It is never
    /// run again: a script half done may not be safe to start over (docs/run-command.md).
    public static let defaultRebootCommand = ["/sbin/shutdown", "-r", "now"]
    public static let interruptedMessage = "the agent stopped while this invocation was running (crash, kill or reboot); it was not run again"

    public nonisolated let spool: Spool<RunInvocation, InvocationResult>
    /// `<root>/<invocationId>` is an invocation's private directory while it runs.
    public nonisolated let workRoot: URL
    public nonisolated let maxConcurrent: Int
    private let executor: InvocationExecutor
    /// Added to every invocation's environment (the agent adds its instance id).
    private let environment: [String: String]
    /// Run when a script exits 194 ("reboot, then continue"); the invocation goes on
    /// at its next step when the agent starts again.
    private let rebootCommand: [String]
    private let logger: Logger
    /// The first wait before an unconfirmed result goes out again, and its cap.
    nonisolated let resendInterval: Duration
    nonisolated let resendCap: Duration

    private var sender: Sender?
    /// Bumped on every connect and disconnect, so a resend outliving its connection stops.
    private var connection = 0
    private var resending: Task<Void, Never>?
    /// Per unconfirmed result sent on this connection: when it goes out again and the
    /// wait before that. Ids only (one per result in the spool), never the results.
    private var resendSchedule: [String: (due: ContinuousClock.Instant, interval: Duration)] = [:]
    /// Results whose output and result are being sent now (first send or an
    /// `outputWanted`): not resent meanwhile, or large output would go twice.
    private var delivering: Set<String> = []
    /// Spooled, not yet started, in arrival order.
    private var queue: [RunInvocation] = []
    /// Executing now; one slot each. Cancel goes through the handle.
    private var handles: [String: CancelHandle] = [:]
    /// Every invocation task until it has sent its result (a little longer than its slot).
    private var tasks: [String: Task<Void, Never>] = [:]
    private var didStart = false

    /// - Parameters:
    ///   - state: the spool lives in `<state>/spool`, work directories in `<state>/work`.
    ///   - maxConcurrent: invocations running at once (at least 1).
    ///   - environment: variables every invocation gets, besides its own ids.
    ///   - resendInterval/resendCap: the backoff of resends while connected (tests shorten them).
    public init(
        state: AgentStateDirectory,
        maxConcurrent: Int = AgentWorker.defaultMaxConcurrent,
        environment: [String: String] = [:],
        executor: InvocationExecutor = InvocationExecutor(),
        rebootCommand: [String] = AgentWorker.defaultRebootCommand,
        resendInterval: Duration = AgentWorker.defaultResendInterval,
        resendCap: Duration = AgentWorker.defaultResendCap,
        logger: Logger
    ) throws {
        guard rebootCommand.first?.hasPrefix("/") == true else {
            throw TenderError.validation("the reboot command must start with an absolute path, got \(rebootCommand)")
        }
        guard resendInterval > .zero, resendCap >= resendInterval else {
            throw TenderError.validation("the resend interval must be positive and at most its cap, got \(resendInterval) and \(resendCap)")
        }
        self.resendInterval = resendInterval
        self.resendCap = resendCap
        self.rebootCommand = rebootCommand
        try state.prepare()
        self.spool = try Spool(directory: state.spoolDirectory)
        self.workRoot = state.workDirectory
        try SecureFile.makeDirectory(workRoot, mode: 0o700)
        self.maxConcurrent = max(1, maxConcurrent)
        self.environment = environment
        self.executor = executor
        self.logger = logger
    }

    // MARK: - Lifecycle

    /// Picks up what the previous process left (call once, before connecting): work
    /// received but never started is queued; work that was running is reported
    /// `Failed`, never re-run; old tombstones and work directories are removed.
    public func start() async throws {
        guard !didStart else { return }
        let recovery = try spool.recover()
        didStart = true
        do {
            try spool.pruneTombstones()
        } catch {
            logger.warning("could not prune old spool tombstones", metadata: ["error": "\(error)"])
        }
        removeStaleWorkDirectories()
        for (id, _) in recovery.interrupted where tasks[id] == nil {
            logger.warning("an invocation was cut short by an agent stop; reporting it failed", metadata: ["invocation": "\(id)"])
            let result = InvocationResult(
                invocationId: id, status: .failed, statusDetails: StatusDetails.failed, responseCode: -1,
                stdout: "", stderr: Self.interruptedMessage + "\n", startedAt: spool.startedAt(of: id), endedAt: Date())
            record(result)
            await deliver(result)
        }
        for (id, item) in recovery.toRun where tasks[id] == nil && !queue.contains(where: { $0.invocationId == id }) {
            // The spool file is named by the id it was accepted under; that name rules.
            var run = item
            run.invocationId = id
            queue.append(run)
        }
        if !recovery.toRun.isEmpty {
            logger.info("resuming spooled work", metadata: ["count": "\(recovery.toRun.count)"])
        }
        pump()
    }

    /// The channel is up: messages go to `sender` from now on, and every result the
    /// controller has not confirmed is sent again, then again while the channel stays
    /// up until confirmed, the backoff starting over. Returns at once (the resend
    /// runs on its own), so the caller can go on reading while large results go out.
    public func connected(sender: @escaping Sender) {
        self.sender = sender
        connection &+= 1
        resending?.cancel()
        resendSchedule.removeAll()
        let generation = connection
        resending = Task {
            await self.resend(generation: generation)
            await self.resendPeriodically(generation: generation)
        }
    }

    /// The channel is down. Running work goes on; its results wait in the spool.
    public func disconnected() {
        sender = nil
        connection &+= 1
        resending?.cancel()
        resending = nil
        resendSchedule.removeAll()
    }

    /// Returns once nothing is queued or running and every result produced so far was
    /// recorded and handed to the sender (for shutdown and tests).
    public func waitUntilIdle() async {
        while let task = tasks.values.first {
            await task.value
        }
    }

    // MARK: - Messages from the controller

    /// `runInvocation`: spool it, acknowledge it, and queue it if it is new. A
    /// duplicate (a redelivery after a lost acknowledgement or a reconnect) is
    /// acknowledged again with what the agent knows of it, never run again.
    public func receive(_ run: RunInvocation) async {
        let id = run.invocationId
        let acceptance: Spool<RunInvocation, InvocationResult>.Acceptance
        do {
            acceptance = try spool.accept(id: id, item: run)
        } catch let error as TenderError {
            logger.warning("refused an invocation", metadata: ["error": "\(error.message)"])
            await send(.error(Notice(code: error.code.rawValue, message: "runInvocation: \(error.message)")))
            return
        } catch {
            // Not acknowledged, so the controller sends it again later.
            logger.error("could not spool an invocation", metadata: ["invocation": "\(id)", "error": "\(error)"])
            await send(.error(Notice(code: TenderError.Code.internalError.rawValue, message: "the agent could not spool invocation \(id): \(error)")))
            return
        }
        await send(.invocationAccepted(InvocationRef(invocationId: id)))
        switch acceptance {
        case .accepted:
            logger.info("invocation received", metadata: ["invocation": "\(id)", "document": "\(run.documentName)"])
            queue.append(run)
            pump()
        case .duplicate:
            switch spool.state(of: id) {
            case .running?:
                // The first start notice may have been lost with the old connection.
                await send(.invocationStarted(InvocationRef(invocationId: id)))
            case .finished?:
                do {
                    if let result = try spool.outcome(of: id) { await send(.invocationResult(result)) }
                } catch {
                    logger.error("could not read a spooled result", metadata: ["invocation": "\(id)", "error": "\(error)"])
                }
            case .waiting?, .confirmed?, nil:
                break
            }
        }
    }

    /// `cancelInvocation`: kill it if running (the executor then reports `Cancelled`),
    /// drop it with a `Cancelled` result if not started yet; anything else is ignored
    /// (already finished: its result stands).
    public func cancel(_ id: String) async {
        if let handle = handles[id] {
            logger.info("cancelling a running invocation", metadata: ["invocation": "\(id)"])
            handle.cancel()
            return
        }
        guard tasks[id] == nil, (try? Spool<RunInvocation, InvocationResult>.validate(id: id)) != nil else { return }
        if spool.state(of: id) == nil {
            // Never received (its run message was lost with a connection): a tombstone
            // makes a late delivery of it a duplicate, so a cancelled invocation never runs.
            do {
                try spool.confirm(id: id)
                logger.info("cancelled an invocation before it arrived", metadata: ["invocation": "\(id)"])
            } catch {
                logger.error("could not record a cancel", metadata: ["invocation": "\(id)", "error": "\(error)"])
            }
            return
        }
        // Not started: queued, or spooled and about to be queued by `receive`.
        guard spool.state(of: id) == .waiting else { return }
        queue.removeAll { $0.invocationId == id }
        logger.info("cancelled a queued invocation", metadata: ["invocation": "\(id)"])
        let result = InvocationResult(
            invocationId: id, status: .cancelled, statusDetails: StatusDetails.cancelled, responseCode: -1,
            stdout: "", stderr: "", startedAt: nil, endedAt: Date())
        record(result)
        await deliver(result)
    }

    /// `resultStored`: the controller has the result; forget it (a tombstone stays
    /// against redelivery).
    /// The controller lacks some of the output: send both streams from the offsets
    /// it names, in pieces, then the result again.
    public func outputWanted(_ wanted: OutputWanted) async {
        guard var result = try? spool.outcome(of: wanted.invocationId) else { return }
        // If the spooled output is shorter than the result says (a disk problem), say
        // what there is, or the controller would ask forever.
        let outSize = FullOutput.size(of: spool.outputFile(id: wanted.invocationId, stream: "stdout"))
        let errSize = FullOutput.size(of: spool.outputFile(id: wanted.invocationId, stream: "stderr"))
        if let declared = result.stdoutSize, let declaredErr = result.stderrSize, outSize < declared || errSize < declaredErr {
            logger.warning("spooled output is shorter than recorded; reporting what is left", metadata: ["invocation": "\(wanted.invocationId)"])
            result.stdoutSize = min(declared, outSize)
            result.stderrSize = min(declaredErr, errSize)
            try? spool.recordOutcome(id: wanted.invocationId, result)
        }
        let id = wanted.invocationId
        delivering.insert(id)
        await sendOutput(wanted)
        await send(.invocationResult(result))
        delivering.remove(id)
        // Just sent: the next resend waits a whole interval again (the backoff goes on).
        rescheduleAfterSend(id)
    }

    /// Sends the spooled output of one invocation from the given offsets, 256 KiB at a
    /// time, reading one piece into memory at a time.
    private func sendOutput(_ wanted: OutputWanted) async {
        for (stream, offset) in [("stdout", wanted.stdoutOffset), ("stderr", wanted.stderrOffset)] {
            let url = spool.outputFile(id: wanted.invocationId, stream: stream)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            var position = max(0, offset)
            do {
                try await SpoolFileIO.readChunks(of: url, from: position, chunkSize: InvocationOutputChunk.maxBytes) { chunk in
                    await send(.invocationOutput(InvocationOutputChunk(invocationId: wanted.invocationId, stream: stream, offset: position, data: Data(chunk).base64EncodedString())))
                    position += chunk.count
                }
            } catch {
                logger.warning("could not read spooled output", metadata: ["invocation": "\(wanted.invocationId)", "error": "\(error)"])
            }
        }
    }

    public func confirmed(_ id: String) {
        resendSchedule[id] = nil
        do {
            try spool.confirm(id: id)
        } catch {
            logger.warning("could not confirm a result", metadata: ["invocation": "\(id.prefix(80))", "error": "\(error)"])
        }
    }

    // MARK: - Running

    /// Starts queued work while there are free slots, oldest first.
    private func pump() {
        while handles.count < maxConcurrent, !queue.isEmpty {
            let run = queue.removeFirst()
            let id = run.invocationId
            // Cancelled (or otherwise settled) while it waited.
            guard tasks[id] == nil, spool.state(of: id) == .waiting else { continue }
            let handle = CancelHandle()
            handles[id] = handle
            tasks[id] = Task { await self.execute(run, handle: handle) }
        }
    }

    private func execute(_ run: RunInvocation, handle: CancelHandle) async {
        let id = run.invocationId
        let result: InvocationResult
        do {
            // On disk before anything runs: after a crash this mark is what stops a re-run.
            try spool.markStarted(id: id)
            logger.info("invocation started", metadata: ["invocation": "\(id)"])
            await send(.invocationStarted(InvocationRef(invocationId: id)))
            var environment = self.environment
            environment["TENDER_COMMAND_ID"] = run.commandId
            environment["TENDER_INVOCATION_ID"] = id
            let workDirectory = workRoot.appendingPathComponent(id, isDirectory: true)
            let progress = Task { await self.reportProgress(id: id, workDirectory: workDirectory) }
            let performed = await Self.perform(run, executor: executor, workDirectory: workDirectory,
                                               environment: environment, startAt: spool.resumeStep(of: id) ?? 0, handle: handle)
            progress.cancel()
            switch performed {
            case .finished(let finished):
                result = finished
            case .reboot(let nextStep):
                if let failure = await reboot(id: id, nextStep: nextStep) {
                    result = failure
                } else {
                    // The host is going down; the invocation continues when the agent starts again.
                    handles[id] = nil
                    tasks[id] = nil
                    pump()
                    return
                }
            }
        } catch {
            // Without the mark it must not run: a crash could then make it run twice.
            logger.error("could not mark an invocation started; not running it", metadata: ["invocation": "\(id)", "error": "\(error)"])
            result = InvocationResult(
                invocationId: id, status: .failed, statusDetails: StatusDetails.failed, responseCode: -1, stdout: "",
                stderr: "the agent could not record the start of this invocation (\(Self.describe(error))); it was not run\n",
                startedAt: nil, endedAt: Date())
        }
        logger.info("invocation finished", metadata: ["invocation": "\(id)", "status": "\(result.status.rawValue)"])
        record(result)
        handles[id] = nil
        pump()
        await deliver(result)
        tasks[id] = nil
    }

    /// The first send of a new result: its full output, if it has any, then the
    /// result; it goes out again after `resendInterval` unless confirmed.
    private func deliver(_ result: InvocationResult) async {
        let id = result.invocationId
        delivering.insert(id)
        if result.stdoutSize != nil {
            await sendOutput(OutputWanted(invocationId: id, stdoutOffset: 0, stderrOffset: 0))
        }
        await send(.invocationResult(result))
        delivering.remove(id)
        if sender != nil, spool.state(of: id) == .finished { resendSchedule[id] = (.now + resendInterval, resendInterval) }
    }

    /// While an invocation runs, sends its output so far every `progressInterval`
    /// when it changed (cut to the inline limits: the full output comes with the result).
    private func reportProgress(id: String, workDirectory: URL) async {
        var last: (String, String) = ("", "")
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.progressInterval)
            guard !Task.isCancelled else { return }
            let now = InvocationExecutor.inlineOutput(in: workDirectory)
            guard now != last else { continue }
            last = now
            await send(.invocationProgress(InvocationProgress(invocationId: id, stdout: now.stdout, stderr: now.stderr)))
        }
    }

    static let progressInterval: Duration = .seconds(2)

    /// Marks the invocation to continue at `nextStep` and runs the reboot command;
    /// returns a failed result if the reboot could not be started.
    private func reboot(id: String, nextStep: Int) async -> InvocationResult? {
        do {
            try spool.markResume(id: id, nextStep: nextStep)
        } catch {
            return InvocationResult(invocationId: id, status: .failed, statusDetails: StatusDetails.failed, responseCode: -1, stdout: "",
                                    stderr: "a step asked for a reboot, but the agent could not record where to continue (\(Self.describe(error)))\n",
                                    startedAt: nil, endedAt: Date())
        }
        logger.notice("a step asked for a reboot; rebooting, the invocation continues afterwards", metadata: ["invocation": "\(id)", "nextStep": "\(nextStep)", "command": "\(rebootCommand.joined(separator: " "))"])
        do {
            let status = try await Subprocess.run(.path(FilePath(rebootCommand[0])), arguments: Arguments(Array(rebootCommand.dropFirst())), output: .discarded, error: .discarded).terminationStatus
            guard case .exited(0) = status else { throw TenderError(.internalError, "the reboot command ended with \(status)") }
            return nil
        } catch {
            try? spool.markStarted(id: id)
            return InvocationResult(invocationId: id, status: .failed, statusDetails: StatusDetails.failed, responseCode: -1, stdout: "",
                                    stderr: "a step asked for a reboot, but the reboot command failed: \(Self.describe(error))\n",
                                    startedAt: nil, endedAt: Date())
        }
    }

    enum Performed: Sendable {
        case finished(InvocationResult)
        case reboot(nextStep: Int)
    }

    /// Runs the steps off the actor and turns the outcome into a result. Steps that
    /// cannot run at all (bad inputs, a missing working directory) end `Failed` with
    /// the reason in stderr.
    private static func perform(_ run: RunInvocation, executor: InvocationExecutor, workDirectory: URL,
                                environment: [String: String], startAt: Int, handle: CancelHandle) async -> Performed {
        let startedAt = Date()
        do {
            let outcome = try await executor.run(run.steps, workDirectory: workDirectory, environment: environment, startAt: startAt, handle: handle)
            if let next = outcome.rebootThenContinueAt { return .reboot(nextStep: next) }
            // The full output goes in chunks before the result (any size); the result names its sizes.
            let stdoutSize = FullOutput.size(of: URL(fileURLWithPath: outcome.fullStdoutFile))
            let stderrSize = FullOutput.size(of: URL(fileURLWithPath: outcome.fullStderrFile))
            return .finished(InvocationResult(
                invocationId: run.invocationId, status: outcome.status, statusDetails: outcome.statusDetails,
                responseCode: outcome.responseCode, stdout: outcome.stdout, stderr: outcome.stderr,
                startedAt: startedAt, endedAt: Date(),
                stdoutSize: stdoutSize, stderrSize: stderrSize, payloads: outcome.payloads.isEmpty ? nil : outcome.payloads))
        } catch {
            return .finished(InvocationResult(
                invocationId: run.invocationId, status: .failed, statusDetails: StatusDetails.failed, responseCode: -1,
                stdout: "", stderr: "the agent could not run this invocation: \(describe(error))\n",
                startedAt: startedAt, endedAt: Date()))
        }
    }

    /// Makes the result durable (it is what gets sent until confirmed) and drops the
    /// work directory: its output is now in the result.
    private func record(_ result: InvocationResult) {
        let id = result.invocationId
        let (stdout, stderr) = InvocationExecutor.outputFiles(in: workRoot.appendingPathComponent(id, isDirectory: true))
        // The output moves into the spool first: the result refers to it.
        for (file, stream) in [(stdout, "stdout"), (stderr, "stderr")] {
            let target = spool.outputFile(id: id, stream: stream)
            try? FileManager.default.removeItem(at: target)
            if FileManager.default.fileExists(atPath: file.path) {
                try? FileManager.default.moveItem(at: file, to: target)
            } else {
                _ = FileManager.default.createFile(atPath: target.path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
        }
        do {
            try spool.recordOutcome(id: result.invocationId, result)
        } catch {
            // Sent anyway: the controller may still store it. After a restart the
            // start mark makes it a failed one, which the controller then ignores.
            logger.error("could not spool a result", metadata: ["invocation": "\(result.invocationId)", "error": "\(error)"])
        }
        try? FileManager.default.removeItem(at: workRoot.appendingPathComponent(result.invocationId, isDirectory: true))
    }

    /// Work directories of invocations not running in this process are leftovers of
    /// the previous one (whose invocations are reported failed, not resumed).
    private func removeStaleWorkDirectories() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: workRoot.path)) ?? []
        // Work waiting to continue after a reboot keeps its output so far.
        for name in entries where tasks[name] == nil && spool.resumeStep(of: name) == nil {
            try? FileManager.default.removeItem(at: workRoot.appendingPathComponent(name))
        }
    }

    // MARK: - Sending

    /// Best effort: without a channel, or when the write fails, the message is dropped;
    /// results are in the spool and go out again (periodically, and on the next connect).
    private func send(_ message: ChannelMessage) async {
        guard let sender else { return }
        do {
            try await sender(message)
        } catch {
            logger.debug("could not send; the spool keeps what matters", metadata: ["type": "\(message.type)", "error": "\(error)"])
        }
    }

    /// After a connect: start notices for what is running (the controller may have
    /// missed them) and every unconfirmed result, oldest first, one in memory at a time.
    private func resend(generation: Int) async {
        for id in handles.keys.sorted() {
            guard connection == generation else { return }
            await send(.invocationStarted(InvocationRef(invocationId: id)))
        }
        let ids: [String]
        do {
            ids = try spool.unconfirmedIDs()
        } catch {
            logger.error("could not list spooled results", metadata: ["error": "\(error)"])
            return
        }
        for id in ids {
            guard connection == generation, !Task.isCancelled else { return }
            do {
                // Nil when confirmed since the listing.
                guard let result = try spool.outcome(of: id) else { continue }
                resendSchedule[id] = (.now + resendInterval, resendInterval)
                await send(.invocationResult(result))
                rescheduleAfterSend(id)
            } catch {
                logger.error("could not read a spooled result", metadata: ["invocation": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// While connection `generation` lasts: every result sent on it and not yet
    /// confirmed goes out again when due, `resendInterval` after it was sent, then
    /// twice as long each time up to `resendCap`. A result the controller could not
    /// store (it does not confirm it) so reaches it again without a reconnect.
    private func resendPeriodically(generation: Int) async {
        while connection == generation, !Task.isCancelled {
            // Until the next one is due, but at least a tenth of the interval (due ones
            // go together) and at most a whole one (a result sent meanwhile is due later).
            let next = resendSchedule.values.lazy.map(\.due).min().map { $0 - .now } ?? resendInterval
            try? await Task.sleep(for: min(max(next, resendInterval / 10), resendInterval))
            guard connection == generation, !Task.isCancelled else { return }
            await resendDue(generation: generation)
        }
    }

    /// One pass: reads and sends each due result in turn, oldest due first, one in memory at a time.
    private func resendDue(generation: Int) async {
        let now = ContinuousClock.now
        let due = resendSchedule.filter { $0.value.due <= now && !delivering.contains($0.key) }
            .sorted { $0.value.due < $1.value.due }.map(\.key)
        for id in due {
            guard connection == generation, !Task.isCancelled else { return }
            // Confirmed, or being sent, since the listing.
            guard let entry = resendSchedule[id], !delivering.contains(id) else { continue }
            let interval = min(entry.interval * 2, resendCap)
            // Set before the send too: a confirmation arriving meanwhile removes it.
            resendSchedule[id] = (.now + interval, interval)
            do {
                guard let result = try spool.outcome(of: id) else {
                    resendSchedule[id] = nil
                    continue
                }
                logger.debug("result not confirmed yet; sending it again", metadata: ["invocation": "\(id)", "next": "\(interval)"])
                await send(.invocationResult(result))
                rescheduleAfterSend(id)
            } catch {
                logger.error("could not read a spooled result", metadata: ["invocation": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// The next resend of `id` counts from the end of the send just made (a slow
    /// channel does not shorten the wait), unless it was confirmed meanwhile.
    private func rescheduleAfterSend(_ id: String) {
        if let entry = resendSchedule[id] { resendSchedule[id] = (.now + entry.interval, entry.interval) }
    }

    /// The wait before `id` is sent again, while one is scheduled (for tests).
    func resendBackoff(of id: String) -> Duration? { resendSchedule[id]?.interval }

    private static func describe(_ error: any Error) -> String {
        (error as? TenderError)?.message ?? "\(error)"
    }
}

/// Sizes of output files (0 when absent).
enum FullOutput {
    static func size(of url: URL) -> Int {
        FileStatus(path: url.path)?.size ?? 0
    }
}

extension AgentStateDirectory {
    /// The durable record of received work and unconfirmed results.
    public var spoolDirectory: URL { url.appendingPathComponent("spool", isDirectory: true) }
    /// Scratch space of running invocations.
    public var workDirectory: URL { url.appendingPathComponent("work", isDirectory: true) }
}
