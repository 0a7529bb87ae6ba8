import Foundation
import Logging
import NIOConcurrencyHelpers
import TenderAPI
import TenderWire

/// What agents report about their work: start notices and results. A result is
/// stored once (a repeated one finds the invocation already finished and changes
/// nothing) and always confirmed, so the agent can drop it from its spool.
struct InvocationReports: Sendable {
    let store: any CommandStore
    let outputs: OutputStore
    let dispatcher: Dispatcher
    let logger: Logger
    /// Starts and results of many agents, written a batch per transaction.
    private let updates: WriteCoalescer<InvocationUpdate, Bool>
    /// Rounds of asking agents for missing output, so a result whose output cannot be
    /// stored (a full disk) or is never sent (a broken agent) still ends.
    let outputRounds = OutputRounds()
    /// The longest `statusDetails` kept from an agent (SSM's are a few words).
    static let maxStatusDetails = 100
    /// Warnings about what one agent sends, at most once per reason every 10 s.
    let logThrottle = LogThrottle()

    /// Who keeps what results' payloads report (a patch report: the compliance).
    let sinks: ResultPayloadSinks

    init(store: any CommandStore, outputs: OutputStore, dispatcher: Dispatcher, logger: Logger, sinks: ResultPayloadSinks = .none) {
        self.sinks = sinks
        self.store = store
        self.outputs = outputs
        self.dispatcher = dispatcher
        self.logger = logger
        updates = WriteCoalescer { batch in
            let (kept, skipped) = Self.withoutSupersededStarts(batch)
            guard !skipped.isEmpty else { return try await store.transitionInvocations(batch, at: Date()) }
            var applied = try await store.transitionInvocations(kept.map { batch[$0] }, at: Date())[...]
            // Skipped starts count as applied: their result, in this batch, records them.
            return batch.indices.map { skipped.contains($0) ? true : applied.removeFirst() }
        }
    }

    /// A start followed in the same batch by its invocation's result need not be
    /// written: the result sets the status and keeps the agent's own start time.
    /// With ten thousand agents answering at once this halves the writes. Returns
    /// the indexes to write and those skipped.
    static func withoutSupersededStarts(_ batch: [InvocationUpdate]) -> (kept: [Int], skipped: Set<Int>) {
        var finished = Set<String>()
        var skipped = Set<Int>()
        for index in batch.indices.reversed() {
            let update = batch[index]
            let key = update.commandID + "/" + update.instanceID
            if update.transition.to.isTerminal {
                finished.insert(key)
            } else if update.transition.to == .inProgress, update.transition.startedAt != nil, finished.contains(key) {
                skipped.insert(index)
            }
        }
        return (batch.indices.filter { !skipped.contains($0) }, skipped)
    }

    /// Whether `result` replaces what is stored: a cancel the controller made on an
    /// invocation it believed unstarted, for which the agent reports a real run.
    static func overrides(_ result: InvocationResult, presumed current: InvocationRecord) -> Bool {
        current.status == .cancelled && current.startedAt == nil && result.startedAt != nil
    }

    /// The status details kept from an agent's result: no terminal controls, short,
    /// and never one of the details only the controller gives, which decide what
    /// counts against MaxErrors (an agent must not turn its failure into a
    /// non-error `Undeliverable` or `Delivery Timed Out`).
    static func details(of result: InvocationResult) -> String {
        let cleaned = DisplayText.clean(result.statusDetails, limit: maxStatusDetails)
        switch result.status {
        case .timedOut: return StatusDetails.executionTimedOut
        case .failed where cleaned == StatusDetails.undeliverable: return StatusDetails.failed
        default: return cleaned.isEmpty ? result.status.rawValue : cleaned
        }
    }

    /// Splits `<deliveryId>_<instanceId>` (a delivery's id is a UUID, whoever owns it)
    /// and checks the instance part is the sender: an agent may only report on its own
    /// invocations.
    func parse(_ invocationID: String, from instanceID: String) -> String? {
        guard invocationID.hasSuffix("_" + instanceID) else { return nil }
        let commandID = String(invocationID.dropLast(instanceID.count + 1))
        return UUID(uuidString: commandID) != nil ? commandID : nil
    }

    func started(_ ref: InvocationRef, instanceID: String, now: Date = Date()) async {
        guard let commandID = parse(ref.invocationId, from: instanceID) else { return }
        // Nobody waits for a start to be stored: the agent's next message (usually the
        // result) is handled at once and lands in the same batch. It is written before
        // anything queued after it, and a result also sets the start time, so a
        // start that is lost or late changes nothing that matters.
        let dispatcher = self.dispatcher
        let store = self.store
        await updates.enqueue(InvocationUpdate(commandID: commandID, instanceID: instanceID, transition: InvocationTransition(
            from: [.pending, .delayed, .inProgress], to: .inProgress, details: StatusDetails.inProgress, startedAt: now))) { applied in
            // It had ended already. If it was cancelled (an agent that was offline with
            // it queued), it must not run: tell the agent to stop it.
            guard !applied else { return }
            Task {
                if let current = try? await store.invocation(commandID: commandID, instanceID: instanceID), current.status == .cancelled {
                    dispatcher.sendCancel(commandID: commandID, instanceID: instanceID)
                }
            }
        }
        dispatcher.requestPass(commandID: commandID)
    }

    func progress(_ progress: InvocationProgress, instanceID: String, now: Date = Date()) async {
        guard let commandID = parse(progress.invocationId, from: instanceID) else { return }
        let stdout = OutputLimits.inline(progress.stdout, limit: OutputLimits.inlineStdout).text
        let stderr = OutputLimits.inline(progress.stderr, limit: OutputLimits.inlineStderr).text
        do {
            try await store.updateRunningOutput(commandID: commandID, instanceID: instanceID, stdout: stdout, stderr: stderr, at: now)
        } catch {
            logger.debug("could not store progress", metadata: ["invocation": "\(progress.invocationId)", "error": "\(error)"])
        }
    }

    func chunk(_ chunk: InvocationOutputChunk, instanceID: String) async {
        guard let commandID = parse(chunk.invocationId, from: instanceID), let data = Data(base64Encoded: chunk.data),
              chunk.offset >= 0, chunk.offset <= outputs.maxStreamBytes, ["stdout", "stderr"].contains(chunk.stream) else {
            logThrottle.log(logger, .warning, reason: "malformed output piece", "dropped a malformed output piece", metadata: ["instance": "\(instanceID)"])
            return
        }
        do {
            // Only for an invocation that is still open: a late piece must not touch a stored result.
            guard let current = try await store.invocation(commandID: commandID, instanceID: instanceID), !current.status.isTerminal else { return }
            _ = try outputs.appendChunk(commandID: commandID, instanceID: instanceID, stream: chunk.stream, offset: chunk.offset, data: data)
        } catch {
            outputRounds.storageFailed(chunk.invocationId)
            logger.error("could not store output", metadata: ["invocation": "\(chunk.invocationId)", "error": "\(error)"])
        }
    }

    enum ResultOutcome: Equatable {
        /// Stored (now or before): confirm it to the agent.
        case stored
        /// Not stored; the agent sends it again later.
        case retry
        /// Not stored yet: the output is incomplete; ask for it from these offsets.
        case needOutput(OutputWanted)
    }

    /// Stores the result once its full output is held.
    func result(_ result: InvocationResult, instanceID: String, now: Date = Date()) async -> ResultOutcome {
        guard let commandID = parse(result.invocationId, from: instanceID) else {
            logThrottle.log(logger, .warning, reason: "foreign result", "agent reported a result for an invocation that is not its own",
                            metadata: ["instance": "\(instanceID)", "invocation": "\(DisplayText.clean(result.invocationId, limit: 80))"])
            return .stored
        }
        guard result.status.isTerminal else { return .retry }
        do {
            var blob: String?
            var outputNote: String?
            if let stdoutSize = result.stdoutSize, let stderrSize = result.stderrSize, stdoutSize > 0 || stderrSize > 0 {
                guard let current = try await store.invocation(commandID: commandID, instanceID: instanceID) else { return .stored }
                if current.status.isTerminal, !Self.overrides(result, presumed: current) { return .stored }
                let heldOut = try outputs.partSize(commandID: commandID, instanceID: instanceID, stream: "stdout")
                let heldErr = try outputs.partSize(commandID: commandID, instanceID: instanceID, stream: "stderr")
                // What is past the cap is never stored, so it is not waited for.
                if heldOut >= min(stdoutSize, outputs.maxStreamBytes), heldErr >= min(stderrSize, outputs.maxStreamBytes) {
                    blob = try outputs.finalize(commandID: commandID, instanceID: instanceID, sizes: (stdoutSize, stderrSize))
                } else {
                    switch outputRounds.next(result.invocationId, held: heldOut + heldErr) {
                    case .ask:
                        return .needOutput(OutputWanted(invocationId: result.invocationId, stdoutOffset: heldOut, stderrOffset: heldErr))
                    case .later:
                        // Storing output just failed: asking at once would loop. The agent
                        // sends the result again later (with backoff), and is asked then.
                        return .retry
                    case .giveUp(let reason):
                        logger.error("storing a result without its full output", metadata: ["invocation": "\(result.invocationId)", "reason": "\(reason)"])
                        outputNote = "\n[tender: the full output was not stored on the controller: \(reason)]\n"
                        blob = nil
                        outputs.discardParts(commandID: commandID, instanceID: instanceID)
                    }
                }
            } else {
                // No output, or it never ran: the inline text is the whole output and
                // `command output` serves it from the row; no files to write.
                blob = nil
            }
            // Inline output is cut here too, by the agent's own rule: the agent's word on
            // limits is not trusted. Text the agent already cut (its first 24,000
            // characters and the marker) comes out unchanged. The controller's note
            // follows the cut, so it is never cut off.
            // Payloads are checked against the agent's own limits too; ones that break
            // them are not stored, and the result says so (the rest of it still counts).
            var payloads = result.payloads
            if let given = payloads, let problem = StepPayload.problem(with: given) {
                logger.warning("storing a result without its step payloads", metadata: ["invocation": "\(result.invocationId)", "reason": "\(problem)"])
                outputNote = (outputNote ?? "") + "\n[tender: the step payloads were not stored: \(problem)]\n"
                payloads = nil
            }
            let inlineOut = OutputLimits.inline(result.stdout, limit: OutputLimits.inlineStdout).text
            let inlineErr = OutputLimits.inline(result.stderr, limit: OutputLimits.inlineStderr).text + (outputNote ?? "")
            let details = Self.details(of: result)
            // Applies only while the invocation is open; nil means it was already
            // finished (a repeated result) or is unknown: either way, nothing to keep.
            let transition = InvocationTransition(
                from: [.pending, .delayed, .inProgress, .cancelling], to: result.status, details: details,
                responseCode: result.responseCode, stdout: inlineOut, stderr: inlineErr, outputBlob: blob,
                payloads: payloads, startedAt: result.startedAt ?? now, endedAt: result.endedAt)
            let stored = try await updates.submit(InvocationUpdate(commandID: commandID, instanceID: instanceID, transition: transition))
            if stored {
                dispatcher.requestPass(commandID: commandID)
            } else if let current = try await store.invocation(commandID: commandID, instanceID: instanceID) {
                if Self.overrides(result, presumed: current) {
                    // The controller cancelled it believing it had not started, but the agent
                    // ran it (its start was still on its way): what really happened wins.
                    var replacing = transition
                    replacing.from = [.cancelled]
                    if try await store.transitionInvocation(commandID: commandID, instanceID: instanceID, replacing, at: now) != nil {
                        logger.notice("an invocation cancelled before its start was heard had run; its result replaces the cancel",
                                      metadata: ["invocation": "\(result.invocationId)", "status": "\(result.status.rawValue)"])
                        await dispatcher.refreshAggregate(commandID: commandID, now: now)
                    }
                } else if current.status != result.status {
                    logger.notice("dropped a late result: the invocation had already ended", metadata: [
                        "invocation": "\(result.invocationId)", "stored": "\(current.status.rawValue)/\(current.statusDetails)", "reported": "\(result.status.rawValue)"])
                }
            }
            // Kept by their capability before the agent hears the result is stored: a crash
            // in between means the agent sends it again, and sinks are idempotent.
            if let payloads, !payloads.isEmpty {
                try await sinks.record(payloads, commandID: commandID, instanceID: instanceID, endedAt: result.endedAt)
            }
            outputRounds.forget(result.invocationId)
            return .stored
        } catch {
            logger.error("could not store a result; the agent will send it again", metadata: ["invocation": "\(result.invocationId)", "error": "\(error)"])
            return .retry
        }
    }
}

/// How often the controller has asked an agent for the missing output of one
/// result without getting any further, and whether storing output just failed.
/// Bounded: it holds only results waiting for output, at most `capacity` of them.
final class OutputRounds: Sendable {
    enum Decision: Equatable {
        /// Ask the agent for the missing output now.
        case ask
        /// Storing failed a moment ago: say nothing, the agent sends the result again later.
        case later
        /// Store the result without its full output.
        case giveUp(String)
    }

    private struct Entry {
        var rounds = 0
        var held = -1
        var storageFailed = false
    }

    /// Rounds without progress before the result is stored without its full output.
    static let maxRounds = 8
    static let capacity = 10_000
    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    func next(_ invocationID: String, held: Int) -> Decision {
        entries.withLockedValue { entries in
            if entries[invocationID] == nil, entries.count >= Self.capacity, let any = entries.keys.first { entries[any] = nil }
            var entry = entries[invocationID] ?? Entry()
            defer { entries[invocationID] = entry }
            if held > entry.held {
                entry.held = held
                entry.rounds = 0
            }
            entry.rounds += 1
            if entry.rounds > Self.maxRounds {
                return .giveUp(entry.storageFailed ? "writing it failed \(Self.maxRounds) times (see the controller's log)"
                                                   : "the agent did not send it after \(Self.maxRounds) requests")
            }
            if entry.storageFailed {
                entry.storageFailed = false
                return .later
            }
            return .ask
        }
    }

    func storageFailed(_ invocationID: String) {
        entries.withLockedValue { entries in
            if entries[invocationID] == nil, entries.count >= Self.capacity { return }
            entries[invocationID, default: Entry()].storageFailed = true
        }
    }

    func forget(_ invocationID: String) {
        _ = entries.withLockedValue { $0.removeValue(forKey: invocationID) }
    }
}
