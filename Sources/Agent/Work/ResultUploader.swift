#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TenderWire

/// Gets every result to the controller: sends its full output in pieces and then
/// the result, and sends unconfirmed results again (on every connect, and while
/// connected with backoff) until the controller confirms it stored them
/// (docs/run-command.md, "Never lost").
///
/// It keeps only ids and send times; the results themselves are read from the
/// spool, one at a time, when they go out. Without a channel, or when a write
/// fails, a message is simply dropped: what matters is in the spool.
public actor ResultUploader {
    /// Writes one message to the controller; throws when the channel is gone.
    public typealias Sender = @Sendable (ChannelMessage) async throws -> Void

    /// An unconfirmed result goes out again this long after it was last sent...
    public static let defaultResendInterval: Duration = .seconds(10)
    /// ...then twice as long after each resend, up to this.
    public static let defaultResendCap: Duration = .seconds(300)

    nonisolated let spool: Spool<RunInvocation, InvocationResult>
    nonisolated let resendInterval: Duration
    nonisolated let resendCap: Duration
    private let logger: Logger

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

    init(spool: Spool<RunInvocation, InvocationResult>, resendInterval: Duration, resendCap: Duration, logger: Logger) throws {
        guard resendInterval > .zero, resendCap >= resendInterval else {
            throw TenderError.validation("the resend interval must be positive and at most its cap, got \(resendInterval) and \(resendCap)")
        }
        self.spool = spool
        self.resendInterval = resendInterval
        self.resendCap = resendCap
        self.logger = logger
    }

    // MARK: - The channel

    /// The channel is up: start notices for `running` (the controller may have missed
    /// them), then every unconfirmed result again, and again while the channel stays
    /// up until confirmed, the backoff starting over. Returns at once.
    func connected(sender: @escaping Sender, running: [String]) {
        self.sender = sender
        connection &+= 1
        resending?.cancel()
        resendSchedule.removeAll()
        let generation = connection
        resending = Task {
            await self.resend(generation: generation, running: running)
            await self.resendPeriodically(generation: generation)
        }
    }

    /// The channel is down; results wait in the spool.
    func disconnected() {
        sender = nil
        connection &+= 1
        resending?.cancel()
        resending = nil
        resendSchedule.removeAll()
    }

    /// Best effort: without a channel, or when the write fails, the message is dropped.
    func send(_ message: ChannelMessage) async {
        guard let sender else { return }
        do {
            try await sender(message)
        } catch {
            logger.debug("could not send; the spool keeps what matters", metadata: ["type": "\(message.type)", "error": "\(error)"])
        }
    }

    // MARK: - Results

    /// The first send of a new result: its full output, if it has any, then the
    /// result; it goes out again after `resendInterval` unless confirmed.
    func deliver(_ result: InvocationResult) async {
        let id = result.invocationId
        delivering.insert(id)
        if result.stdoutSize != nil {
            await sendOutput(OutputWanted(invocationId: id, stdoutOffset: 0, stderrOffset: 0))
        }
        await send(.invocationResult(result))
        delivering.remove(id)
        if sender != nil, spool.state(of: id) == .finished { resendSchedule[id] = (.now + resendInterval, resendInterval) }
    }

    /// The controller lacks some of the output: send both streams from the offsets
    /// it names, in pieces, then the result again.
    func outputWanted(_ wanted: OutputWanted) async {
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

    /// `resultStored`: the controller has the result; forget it (a tombstone stays
    /// against redelivery).
    func confirmed(_ id: String) {
        resendSchedule[id] = nil
        do {
            try spool.confirm(id: id)
        } catch {
            logger.warning("could not confirm a result", metadata: ["invocation": "\(id.prefix(80))", "error": "\(error)"])
        }
    }

    /// The wait before `id` is sent again, while one is scheduled (for tests).
    func resendBackoff(of id: String) -> Duration? { resendSchedule[id]?.interval }

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

    // MARK: - Resending

    /// After a connect: start notices for what is running and every unconfirmed
    /// result, oldest first, one in memory at a time.
    private func resend(generation: Int, running: [String]) async {
        for id in running {
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
}

/// Sizes of output files (0 when absent).
enum FullOutput {
    static func size(of url: URL) -> Int {
        FileStatus(path: url.path)?.size ?? 0
    }
}
