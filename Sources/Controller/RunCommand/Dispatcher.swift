import Foundation
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import Shared

/// Hands invocations to connected agents within each command's limits (the
/// MaxConcurrency sliding window and the MaxErrors stop), applies delivery
/// timeouts and cancels, and keeps each command's aggregate status current.
///
/// Every decision is made from what is stored, and every invocation is stored
/// before it is sent, so a restart simply picks up where the store says things are.
/// An actor: one decision at a time per controller, so nothing is sent twice.
actor Dispatcher {
    let store: any Store
    let registry: ConnectionRegistry
    let logger: Logger
    private let codec = ChannelCodec()
    /// How long a sent, unacknowledged invocation waits before it is sent again.
    static let redeliveryDelay: TimeInterval = 5

    init(store: any Store, registry: ConnectionRegistry, logger: Logger) {
        self.store = store
        self.registry = registry
        self.logger = logger
    }

    /// Re-evaluates every command that is not finished.
    func kickAll(now: Date = Date()) async {
        do {
            for command in try await store.activeCommands() {
                await kick(command, now: now)
            }
        } catch {
            logger.error("could not load active commands", metadata: ["error": "\(error)"])
        }
    }

    func kick(commandID: String, now: Date = Date()) async {
        do {
            guard let command = try await store.command(id: commandID), !command.status.isTerminal else { return }
            await kick(command, now: now)
        } catch {
            logger.error("could not load command", metadata: ["command": "\(commandID)", "error": "\(error)"])
        }
    }

    private func kick(_ command: CommandRecord, now: Date) async {
        do {
            var invocations = try await store.invocations(commandID: command.id)
            let deadline = command.createdAt.addingTimeInterval(TimeInterval(command.deliveryTimeoutSeconds))

            for (i, inv) in invocations.enumerated() where inv.status == .inProgress && inv.startedAt == nil && now >= deadline && command.cancelRequestedAt == nil {
                // Sent, but the agent never started it within the delivery timeout.
                if let updated = try await transition(inv, from: [.inProgress], to: .timedOut, details: StatusDetails.deliveryTimedOut, now: now, ended: true) {
                    invocations[i] = updated
                }
            }
            for (i, inv) in invocations.enumerated() {
                // Sent but never acknowledged by an agent that is gone: send it again later.
                if inv.status == .inProgress, inv.startedAt == nil, !registry.isConnected(inv.instanceID) {
                    if let updated = try await transition(inv, from: [.inProgress], to: .delayed, details: StatusDetails.delayed, now: now) {
                        invocations[i] = updated
                    }
                }
            }
            for (i, inv) in invocations.enumerated() where inv.status == .pending || inv.status == .delayed {
                if command.cancelRequestedAt != nil {
                    if let updated = try await transition(inv, from: [.pending, .delayed], to: .cancelled, details: StatusDetails.cancelled, now: now, ended: true) {
                        invocations[i] = updated
                    }
                } else if now >= deadline {
                    if let updated = try await transition(inv, from: [.pending, .delayed], to: .timedOut, details: StatusDetails.deliveryTimedOut, now: now, ended: true) {
                        invocations[i] = updated
                    }
                }
            }
            // Sent to a connected agent that has not started it after a while: the
            // message may have died with a connection or a controller. Send it again;
            // the agent drops duplicates by invocation id, so it can never run twice.
            var steps: [ResolvedStep]?
            if command.cancelRequestedAt == nil {
                for inv in invocations where inv.status == .inProgress && inv.startedAt == nil && registry.isConnected(inv.instanceID) {
                    if let sent = inv.sentAt, now.timeIntervalSince(sent) < Self.redeliveryDelay { continue }
                    let message = try Self.runMessage(command, instanceID: inv.instanceID, steps: &steps)
                    if await sendToAgent(message, instanceID: inv.instanceID) {
                        _ = try await store.transitionInvocation(commandID: command.id, instanceID: inv.instanceID, InvocationTransition(
                            from: [.inProgress], to: .inProgress, details: StatusDetails.inProgress, countAttempt: true, sentAt: now), at: now)
                    }
                }
            }
            if command.cancelRequestedAt != nil {
                for inv in invocations where inv.status == .inProgress {
                    await sendToAgent(.cancelInvocation(InvocationRef(invocationId: RunInvocation.id(commandID: command.id, instanceID: inv.instanceID))), instanceID: inv.instanceID)
                }
            } else {
                let targets = command.targetCount
                let errors = invocations.filter { $0.status == .failed || ($0.status == .timedOut && $0.statusDetails == StatusDetails.executionTimedOut) }.count
                let inFlight = invocations.filter { $0.status == .inProgress }.count
                let pending = invocations.filter { $0.status == .pending || $0.status == .delayed }.map(\.instanceID)
                let plan = DispatchPlan.make(
                    concurrency: command.maxConcurrency.concurrency(targets: targets),
                    maxErrors: command.maxErrors.errors(targets: targets),
                    inFlight: inFlight, errors: errors, pending: pending,
                    deliverable: { self.registry.isConnected($0) }
                )
                for id in plan.terminate {
                    if let i = invocations.firstIndex(where: { $0.instanceID == id }),
                       let updated = try await transition(invocations[i], from: [.pending, .delayed], to: .cancelled, details: StatusDetails.terminated, now: now, ended: true) {
                        invocations[i] = updated
                    }
                }
                if !plan.send.isEmpty {
                    for id in plan.send {
                        guard let i = invocations.firstIndex(where: { $0.instanceID == id }) else { continue }
                        // Stored as sent before it is sent.
                        guard let updated = try await store.transitionInvocation(commandID: command.id, instanceID: id, InvocationTransition(
                            from: [.pending, .delayed], to: .inProgress, details: StatusDetails.inProgress, countAttempt: true, sentAt: now), at: now) else { continue }
                        invocations[i] = updated
                        let message = try Self.runMessage(command, instanceID: id, steps: &steps)
                        if !(await sendToAgent(message, instanceID: id)) {
                            if let back = try await transition(updated, from: [.inProgress], to: .delayed, details: StatusDetails.delayed, now: now) {
                                invocations[i] = back
                            }
                        }
                    }
                }
            }
            try await updateAggregate(command, invocations, now: now)
        } catch {
            logger.error("dispatch failed", metadata: ["command": "\(command.id)", "error": "\(error)"])
        }
    }

    /// The work message for one instance; the command's steps are decoded once per pass, and only when needed.
    private static func runMessage(_ command: CommandRecord, instanceID: String, steps: inout [ResolvedStep]?) throws -> ChannelMessage {
        let resolved = try steps ?? JSON.decoder().decode([ResolvedStep].self, from: Data(command.stepsJSON.utf8))
        steps = resolved
        return .runInvocation(RunInvocation(invocationId: RunInvocation.id(commandID: command.id, instanceID: instanceID),
                                            commandId: command.id, documentName: command.documentName, steps: resolved))
    }

    private func transition(_ inv: InvocationRecord, from: Set<InvocationStatus>, to: InvocationStatus, details: String, now: Date, ended: Bool = false) async throws -> InvocationRecord? {
        try await store.transitionInvocation(commandID: inv.commandID, instanceID: inv.instanceID,
                                             InvocationTransition(from: from, to: to, details: details, endedAt: ended ? now : nil), at: now)
    }

    func updateAggregate(_ command: CommandRecord, _ invocations: [InvocationRecord], now: Date) async throws {
        let aggregate = CommandAggregate(
            invocations.map { CommandAggregate.Invocation(status: $0.status, details: $0.statusDetails, started: $0.startedAt != nil) },
            cancelRequested: command.cancelRequestedAt != nil
        )
        try await store.updateCommand(
            id: command.id, status: aggregate.status, statusDetails: aggregate.statusDetails, completedCount: aggregate.completedCount,
            errorCount: aggregate.errorCount, deliveryTimedOutCount: aggregate.deliveryTimedOutCount,
            finishedAt: aggregate.status.isTerminal ? now : nil, at: now
        )
    }

    /// Writes one message to the agent's live channel; false if it has none or the write failed.
    @discardableResult
    func sendToAgent(_ message: ChannelMessage, instanceID: String) async -> Bool {
        guard let (writer, _) = registry.writer(for: instanceID) else { return false }
        do {
            let data = try codec.encode(message)
            try await writer.write(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: data)))
            return true
        } catch {
            logger.info("could not send to agent", metadata: ["instance": "\(instanceID)", "error": "\(error)"])
            return false
        }
    }
}

/// Runs the dispatcher's periodic pass: delivery timeouts, redelivery to agents that
/// came back, and commands whose agents are all offline.
struct DispatcherLoop: Service {
    let dispatcher: Dispatcher
    let interval: Duration

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            await dispatcher.kickAll()
        }
    }
}
