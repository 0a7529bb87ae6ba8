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
/// (at most `maxConcurrent` at once, the rest in arrival order: `WorkQueue`) and
/// hands each result to the `ResultUploader`, which sends it until the controller
/// confirms it stored it (docs/run-command.md, "Never lost"). `WorkDirectories`
/// moves a finished invocation's output from its work directory into the spool.
///
/// The spool is the source of truth; memory only holds what is queued and running.
/// So the channel can come and go freely: a message that cannot be sent is simply
/// dropped, and whatever matters (results) is read from the spool and sent again.
/// The controller stores a result once and ignores repeats.
public actor AgentWorker {
    /// Writes one message to the controller; throws when the channel is gone.
    public typealias Sender = ResultUploader.Sender

    public static let defaultMaxConcurrent = 5
    public static var defaultResendInterval: Duration { ResultUploader.defaultResendInterval }
    public static var defaultResendCap: Duration { ResultUploader.defaultResendCap }

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
    /// Sends results until confirmed, and every other message best effort.
    private let uploader: ResultUploader
    private let workDirectories: WorkDirectories
    /// The first wait before an unconfirmed result goes out again, and its cap.
    nonisolated var resendInterval: Duration { uploader.resendInterval }
    nonisolated var resendCap: Duration { uploader.resendCap }

    /// Spooled, not yet started, in arrival order.
    private var queue = WorkQueue()
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
        self.rebootCommand = rebootCommand
        try state.prepare()
        let spool = try Spool<RunInvocation, InvocationResult>(directory: state.spoolDirectory)
        self.spool = spool
        self.uploader = try ResultUploader(spool: spool, resendInterval: resendInterval, resendCap: resendCap, logger: logger)
        self.workRoot = state.workDirectory
        self.workDirectories = try WorkDirectories(root: state.workDirectory, spool: spool, logger: logger)
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
        workDirectories.removeStale(running: Set(tasks.keys))
        for (id, _) in recovery.interrupted where tasks[id] == nil {
            logger.warning("an invocation was cut short by an agent stop; reporting it failed", metadata: ["invocation": "\(id)"])
            let result = InvocationResult(
                invocationId: id, status: .failed, statusDetails: StatusDetails.failed, responseCode: -1,
                stdout: "", stderr: Self.interruptedMessage + "\n", startedAt: spool.startedAt(of: id), endedAt: Date())
            workDirectories.record(result)
            await uploader.deliver(result)
        }
        for (id, item) in recovery.toRun where tasks[id] == nil && !queue.contains(id) {
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
    /// up until confirmed (`ResultUploader`). Returns at once.
    public func connected(sender: @escaping Sender) async {
        await uploader.connected(sender: sender, running: handles.keys.sorted())
    }

    /// The channel is down. Running work goes on; its results wait in the spool.
    public func disconnected() async {
        await uploader.disconnected()
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
            await uploader.send(.error(Notice(code: error.code.rawValue, message: "runInvocation: \(error.message)")))
            return
        } catch {
            // Not acknowledged, so the controller sends it again later.
            logger.error("could not spool an invocation", metadata: ["invocation": "\(id)", "error": "\(error)"])
            await uploader.send(.error(Notice(code: TenderError.Code.internalError.rawValue, message: "the agent could not spool invocation \(id): \(error)")))
            return
        }
        await uploader.send(.invocationAccepted(InvocationRef(invocationId: id)))
        switch acceptance {
        case .accepted:
            logger.info("invocation received", metadata: ["invocation": "\(id)", "document": "\(run.documentName)"])
            queue.append(run)
            pump()
        case .duplicate:
            switch spool.state(of: id) {
            case .running?:
                // The first start notice may have been lost with the old connection.
                await uploader.send(.invocationStarted(InvocationRef(invocationId: id)))
            case .finished?:
                do {
                    if let result = try spool.outcome(of: id) { await uploader.send(.invocationResult(result)) }
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
        queue.remove(id)
        logger.info("cancelled a queued invocation", metadata: ["invocation": "\(id)"])
        let result = InvocationResult(
            invocationId: id, status: .cancelled, statusDetails: StatusDetails.cancelled, responseCode: -1,
            stdout: "", stderr: "", startedAt: nil, endedAt: Date())
        workDirectories.record(result)
        await uploader.deliver(result)
    }

    /// The controller lacks some of the output: send it from the offsets it names,
    /// then the result again.
    public func outputWanted(_ wanted: OutputWanted) async {
        await uploader.outputWanted(wanted)
    }

    /// `resultStored`: the controller has the result; forget it (a tombstone stays
    /// against redelivery).
    public func confirmed(_ id: String) async {
        await uploader.confirmed(id)
    }

    // MARK: - Running

    /// Starts queued work while there are free slots, oldest first.
    private func pump() {
        while handles.count < maxConcurrent, let run = queue.next() {
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
            await uploader.send(.invocationStarted(InvocationRef(invocationId: id)))
            var environment = self.environment
            environment["TENDER_COMMAND_ID"] = run.commandId
            environment["TENDER_INVOCATION_ID"] = id
            let workDirectory = workDirectories.directory(of: id)
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
        workDirectories.record(result)
        handles[id] = nil
        pump()
        await uploader.deliver(result)
        tasks[id] = nil
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
            await uploader.send(.invocationProgress(InvocationProgress(invocationId: id, stdout: now.stdout, stderr: now.stderr)))
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

    /// The wait before `id` is sent again, while one is scheduled (for tests).
    func resendBackoff(of id: String) async -> Duration? { await uploader.resendBackoff(of: id) }

    private static func describe(_ error: any Error) -> String {
        (error as? TenderError)?.message ?? "\(error)"
    }
}

extension AgentStateDirectory {
    /// The durable record of received work and unconfirmed results.
    public var spoolDirectory: URL { url.appendingPathComponent("spool", isDirectory: true) }
    /// Scratch space of running invocations.
    public var workDirectory: URL { url.appendingPathComponent("work", isDirectory: true) }
}
