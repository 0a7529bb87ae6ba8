import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import TenderWire

/// The delivery mechanism: hands every delivery's invocations to connected agents,
/// stored as sent before they go out, resends what was not acknowledged, takes back
/// what went out on a channel that is gone, applies delivery and execution timeouts
/// and cancels. What to send next, and the delivery's status, are its owner's
/// `DeliveryPolicy` (Run Command's: `RunCommandPolicy`).
///
/// Every decision is made from what is stored, and every invocation is stored
/// before it is sent, so a restart simply picks up where the store says things are.
/// An actor: one decision at a time per controller, so nothing is sent twice.
actor Dispatcher {
    let store: any CommandStore & ReplicaStore
    let registry: ConnectionRegistry
    /// What to send next, by the delivery's owner kind.
    let policies: DeliveryPolicies
    /// This process among the replicas sharing the store: invocations it sends carry
    /// it (`sent_by`), and it takes back only those, or those of a replica that stopped.
    nonisolated let replicaID: String
    /// A replica not seen for this long has stopped: the invocations it sent and
    /// whose agents are not connected here may be taken back by any replica.
    static let replicaTimeout: TimeInterval = 15
    /// Replicas seen within `replicaTimeout` at the last check, and when that was.
    private var liveReplicas: Set<String> = []
    private var replicasCheckedAt: Date?
    private var replicasPrunedAt: Date?
    let logger: Logger
    /// How long a sent, unacknowledged invocation waits before it is sent again.
    static let redeliveryDelay: TimeInterval = 5

    /// How long after the sum of its steps' timeouts a started invocation may go
    /// without a result before it ends `TimedOut` / `Execution Timed Out` (the agent
    /// vanished with it, or never reports). Covers a reboot (exit 194) and the upload
    /// of the output.
    static let defaultExecutionMargin: TimeInterval = 600
    /// How long started invocations of a cancelled command have to confirm the cancel
    /// before the controller ends them `Cancelled` itself.
    static let defaultCancelGrace: TimeInterval = 60
    let executionMargin: TimeInterval
    let cancelGrace: TimeInterval
    /// Each active command's execution budget (the sum of its steps' timeouts), so a
    /// pass does not decode the steps again. Entries go when the command finishes.
    private var executionBudgets: [String: TimeInterval] = [:]
    /// When a cancel was last sent for each cancelling command: it is repeated every
    /// `redeliveryDelay`, not on every pass.
    private var cancelSentAt: [String: Date] = [:]
    /// Deliveries whose owner kind has no policy here, warned about once (bounded).
    private var warnedUnknownOwner: Set<String> = []

    /// When this controller began delivering. Agents cannot report to a controller
    /// that is down, so an execution deadline never counts the time before: after
    /// a long upgrade, agents get the whole margin to hand in what their spools hold.
    let liveSince: Date

    init(store: any CommandStore & ReplicaStore, registry: ConnectionRegistry, executionMargin: TimeInterval = Dispatcher.defaultExecutionMargin,
         cancelGrace: TimeInterval = Dispatcher.defaultCancelGrace, liveSince: Date = Date(), replicaID: String = Dispatcher.newReplicaID(),
         policies: DeliveryPolicies = .standard, logger: Logger) {
        self.store = store
        self.policies = policies
        self.replicaID = replicaID
        self.registry = registry
        self.liveSince = liveSince
        self.executionMargin = executionMargin
        self.cancelGrace = cancelGrace
        self.logger = logger
    }

    // MARK: Coalesced passes

    private struct PassRequests {
        var commands: Set<String> = []
        var all = false
        var running = false
    }

    /// Passes asked for since the current one started. Behind a lock, not the actor:
    /// asking must never wait for a pass in progress (an agent's report would stall
    /// behind a ten-thousand-agent send).
    private nonisolated let requests = NIOLockedValueBox(PassRequests())

    /// Asks for a pass over one command soon. Requests that arrive while a pass runs
    /// are served together by the next one, so ten thousand results cost a few passes,
    /// not ten thousand.
    nonisolated func requestPass(commandID: String) {
        startPasses { $0.commands.insert(commandID) }
    }

    /// Asks for a pass over every active command soon (an agent came online).
    nonisolated func requestFullPass() {
        startPasses { $0.all = true }
    }

    private nonisolated func startPasses(_ record: (inout PassRequests) -> Void) {
        let start = requests.withLockedValue { requests -> Bool in
            record(&requests)
            if requests.running { return false }
            requests.running = true
            return true
        }
        if start { Task { await self.runRequestedPasses() } }
    }

    private func runRequestedPasses() async {
        while true {
            let next = requests.withLockedValue { requests -> (all: Bool, commands: Set<String>)? in
                guard requests.all || !requests.commands.isEmpty else {
                    requests.running = false
                    return nil
                }
                defer {
                    requests.all = false
                    requests.commands = []
                }
                return (requests.all, requests.commands)
            }
            guard let next else { return }
            if next.all {
                await kickAll()
            } else {
                for id in next.commands { await kick(commandID: id) }
            }
        }
    }

    /// Waits, at most `limit`, until no requested pass runs (tests: before their store
    /// shuts down). True if none does.
    @discardableResult
    nonisolated func requestedPassesFinished(within limit: Duration = .seconds(10)) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + limit
        while requests.withLockedValue({ $0.running }) {
            guard clock.now < end else { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    // MARK: Passes

    /// `r-` and 16 hex digits, new for every process.
    static func newReplicaID() -> String { "r-" + Identifiers.randomHex(8) }

    /// Says this replica is alive and learns which others are. Once per periodic pass,
    /// and before a pass if the last check is older than two intervals.
    private func checkReplicas(now: Date) async {
        if let checked = replicasCheckedAt, now.timeIntervalSince(checked) < 2, now >= checked { return }
        do {
            try await store.recordReplica(id: replicaID, startedAt: liveSince, at: now)
            liveReplicas = try await store.replicas(seenSince: now.addingTimeInterval(-Self.replicaTimeout))
            replicasCheckedAt = now
            if replicasPrunedAt.map({ now.timeIntervalSince($0) >= 3600 }) ?? true {
                replicasPrunedAt = now
                try await store.removeReplicas(seenBefore: now.addingTimeInterval(-86_400))
            }
        } catch {
            // Unknown: no other replica counts as alive, as before replicas were recorded.
            logger.warning("could not record or read the controller replicas", metadata: ["error": "\(error)"])
        }
    }

    /// Whether the channel a sent, unstarted invocation went out on is known to be
    /// gone, so it may be taken back (Delayed) and sent again. Only the replica that
    /// sent it knows that of its own channels; another replica knows it only once
    /// the sender has stopped. An agent connected here has its channel here.
    private func channelGone(_ inv: InvocationState) -> Bool {
        guard !registry.isConnected(inv.instanceID) else { return false }
        guard let sender = inv.sentBy, sender != replicaID else { return true }
        return !liveReplicas.contains(sender)
    }

    /// Re-evaluates every command that is not finished.
    func kickAll(now: Date = Date()) async {
        replicasCheckedAt = nil
        await checkReplicas(now: now)
        do {
            for command in try await store.activeCommands() {
                await kick(command, now: now)
            }
        } catch is CancellationError {
            // Shutting down: nothing to report.
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
        await checkReplicas(now: now)
        let policy = policy(for: command)
        do {
            var invocations = try await store.invocationStates(commandID: command.id)
            let deadline = command.createdAt.addingTimeInterval(TimeInterval(command.deliveryTimeoutSeconds))

            for (i, inv) in invocations.enumerated() where inv.status == .inProgress && inv.startedAt == nil && now >= deadline && command.cancelRequestedAt == nil {
                // Sent, but the agent never started it within the delivery timeout.
                if let updated = try await transition(inv, from: [.inProgress], to: .timedOut, details: StatusDetails.deliveryTimedOut, now: now, ended: true) {
                    invocations[i] = updated
                }
            }
            for (i, inv) in invocations.enumerated() {
                // Sent, not started, and its channel is gone: send it again later.
                if inv.status == .inProgress, inv.startedAt == nil, channelGone(inv) {
                    if let updated = try await transition(inv, from: [.inProgress], to: .delayed, details: StatusDetails.delayed, now: now) {
                        invocations[i] = updated
                    }
                }
            }
            // Started, and no result long after every step's timeout has passed: the
            // agent vanished with it (or never reports). It must still end.
            let budget = executionBudget(command)
            for (i, inv) in invocations.enumerated() where inv.status == .inProgress || inv.status == .cancelling {
                guard let started = inv.startedAt, now.timeIntervalSince(started) >= budget + executionMargin,
                      now.timeIntervalSince(liveSince) >= executionMargin else { continue }
                if let updated = try await transition(inv, from: [.inProgress, .cancelling], to: .timedOut, details: StatusDetails.executionTimedOut, now: now, ended: true) {
                    logger.warning("an invocation got no result within its steps' timeouts plus \(Int(executionMargin)) s; it ends TimedOut", metadata: [
                        "command": "\(command.id)", "instance": "\(inv.instanceID)"])
                    invocations[i] = updated
                }
            }
            for (i, inv) in invocations.enumerated() where inv.status == .pending || inv.status == .delayed || (inv.status == .inProgress && inv.startedAt == nil) {
                if command.cancelRequestedAt != nil {
                    // Not started by the agent, so nothing runs: cancelled at once. An agent
                    // that has it queued is told too (below), and one that starts it
                    // anyway is told again (`InvocationReports.started`).
                    if let updated = try await transition(inv, from: [.pending, .delayed, .inProgress], to: .cancelled, details: StatusDetails.cancelled, now: now, ended: true) {
                        if inv.status == .inProgress { sendCancel(commandID: command.id, instanceID: inv.instanceID) }
                        invocations[i] = updated
                    }
                } else if inv.status != .inProgress, now >= deadline {
                    if let updated = try await transition(inv, from: [.pending, .delayed], to: .timedOut, details: StatusDetails.deliveryTimedOut, now: now, ended: true) {
                        invocations[i] = updated
                    }
                }
            }
            // Sent to a connected agent that has not started it after a while: the
            // message may have died with a connection or a controller. Send it again;
            // the agent drops duplicates by invocation id, so it can never run twice.
            var templates: [String: RunMessageTemplate] = [:]
            if command.cancelRequestedAt == nil {
                let due = invocations.filter { inv in
                    guard inv.status == .inProgress, inv.startedAt == nil, registry.isConnected(inv.instanceID) else { return false }
                    return inv.sentAt.map { now.timeIntervalSince($0) >= Self.redeliveryDelay } ?? true
                }
                let resent = try sendRuns(command, due, templates: &templates)
                if !resent.sent.isEmpty {
                    _ = try await store.transitionInvocations(commandID: command.id, instanceIDs: resent.sent, InvocationTransition(
                        from: [.inProgress], to: .inProgress, details: StatusDetails.inProgress, countAttempt: true, sentAt: now, sentBy: replicaID), at: now)
                }
            }
            if let cancelAt = command.cancelRequestedAt {
                // Running ones are told to stop, again every `redeliveryDelay` until they
                // report; after `cancelGrace` the controller ends them itself, so a cancel
                // always finishes (an offline agent is told again if it starts it).
                let repeatDue = cancelSentAt[command.id].map { now.timeIntervalSince($0) >= Self.redeliveryDelay } ?? true
                if repeatDue { cancelSentAt[command.id] = now }
                for (i, inv) in invocations.enumerated() where inv.status == .inProgress || inv.status == .cancelling {
                    if now.timeIntervalSince(cancelAt) >= cancelGrace {
                        if let updated = try await transition(inv, from: [.inProgress, .cancelling], to: .cancelled, details: StatusDetails.cancelled, now: now, ended: true) {
                            invocations[i] = updated
                        }
                    } else if repeatDue {
                        sendCancel(commandID: command.id, instanceID: inv.instanceID)
                    }
                }
            } else if let policy {
                let plan = policy.plan(command, invocations, deliverable: { self.registry.isConnected($0) })
                var position = [String: Int](minimumCapacity: invocations.count)
                for (i, inv) in invocations.enumerated() { position[inv.instanceID] = i }
                func apply(_ updated: [InvocationState]) {
                    for inv in updated { if let i = position[inv.instanceID] { invocations[i] = inv } }
                }
                if !plan.terminate.isEmpty {
                    apply(try await store.transitionInvocations(commandID: command.id, instanceIDs: plan.terminate, InvocationTransition(
                        from: [.pending, .delayed], to: .cancelled, details: StatusDetails.terminated, endedAt: now), at: now))
                }
                if !plan.send.isEmpty {
                    // Stored as sent before they are sent, all in one transaction, and no more
                    // than the window holds now: another replica may have filled some of it.
                    let sent = try await store.claimInvocations(
                        commandID: command.id, instanceIDs: plan.send, inFlightLimit: plan.inFlightLimit,
                        InvocationTransition(from: [.pending, .delayed], to: .inProgress, details: StatusDetails.inProgress,
                                             countAttempt: true, sentAt: now, sentBy: replicaID), at: now)
                    apply(sent)
                    let undelivered = try sendRuns(command, sent, templates: &templates).undelivered
                    if !undelivered.isEmpty {
                        apply(try await store.transitionInvocations(commandID: command.id, instanceIDs: undelivered, InvocationTransition(
                            from: [.inProgress], to: .delayed, details: StatusDetails.delayed), at: now))
                    }
                }
            }
            guard let policy else { return }
            let aggregate = try await updateAggregate(command, invocations, policy: policy, now: now)
            if aggregate.status.isTerminal {
                executionBudgets[command.id] = nil
                cancelSentAt[command.id] = nil
            }
        } catch {
            logger.error("dispatch failed", metadata: ["command": "\(command.id)", "error": "\(error)"])
        }
    }

    /// Queues the work message on each agent's channel without waiting for the writes:
    /// a fan-out must not take one event-loop round trip per agent, so the writes are
    /// handed to each event loop in large batches. A write that fails closes the
    /// channel, and the next pass finds the agent gone and marks the invocation
    /// Delayed; one that is lost is sent again after `redeliveryDelay`. A template is
    /// built once per pass and step variant, and only when something is sent.
    private func sendRuns(_ command: CommandRecord, _ invocations: [InvocationState], templates: inout [String: RunMessageTemplate]) throws -> (sent: [String], undelivered: [String]) {
        guard !invocations.isEmpty else { return ([], []) }
        var sent: [String] = []
        var undelivered: [String] = []
        var writes: [(AgentConnection, WebSocketFrame)] = []
        writes.reserveCapacity(invocations.count)
        for inv in invocations {
            let id = inv.instanceID
            guard let connection = registry.connection(for: id) else {
                undelivered.append(id)
                continue
            }
            let key = inv.variant ?? ""
            let built: RunMessageTemplate
            if let known = templates[key] {
                built = known
            } else {
                built = try RunMessageTemplate(command, variant: inv.variant)
                templates[key] = built
            }
            sent.append(id)
            writes.append((connection, built.frame(commandID: command.id, instanceID: id, allocator: connection.allocator)))
        }
        AgentConnection.send(writes)
        return (sent, undelivered)
    }

    private func transition(_ inv: InvocationState, from: Set<InvocationStatus>, to: InvocationStatus, details: String, now: Date, ended: Bool = false) async throws -> InvocationState? {
        try await store.transitionInvocation(commandID: inv.commandID, instanceID: inv.instanceID,
                                             InvocationTransition(from: from, to: to, details: details, endedAt: ended ? now : nil), at: now).map(InvocationState.init)
    }

    /// The policy of the delivery's owner; nil (and a warning, at most once per
    /// delivery) for a kind this controller does not know.
    private func policy(for delivery: CommandRecord) -> (any DeliveryPolicy)? {
        if let policy = policies.policy(for: delivery.owner) { return policy }
        if warnedUnknownOwner.insert(delivery.id).inserted {
            if warnedUnknownOwner.count > 10_000 { warnedUnknownOwner = [delivery.id] }
            logger.warning("a delivery's owner has no policy on this controller (a newer replica stored it?); nothing is sent for it here", metadata: [
                "delivery": "\(delivery.id)", "owner": "\(delivery.owner)"])
        }
        return nil
    }

    /// Recomputes a delivery's status even if it has finished: a late result can
    /// replace a cancel the controller presumed.
    func refreshAggregate(commandID: String, now: Date = Date()) async {
        do {
            guard let command = try await store.command(id: commandID), let policy = policies.policy(for: command.owner) else { return }
            try await updateAggregate(command, try await store.invocationStates(commandID: commandID), policy: policy, now: now)
        } catch {
            logger.error("could not update a command's status", metadata: ["command": "\(commandID)", "error": "\(error)"])
        }
    }

    /// The longest a command's invocation can run on an agent: the sum of its steps'
    /// timeouts (an action without one counts the shell default).
    private func executionBudget(_ command: CommandRecord) -> TimeInterval {
        if let known = executionBudgets[command.id] { return known }
        let steps = (try? JSON.decoder().decode([ResolvedStep].self, from: Data(command.stepsJSON.utf8))) ?? []
        let seconds = steps.reduce(0) { total, step in
            total + ((try? RunShellScriptInputs(step.inputs).timeoutSeconds) ?? RunShellScriptInputs.defaultTimeoutSeconds)
        }
        let budget = TimeInterval(seconds)
        executionBudgets[command.id] = budget
        return budget
    }

    /// Ends every open invocation of a deregistered instance `Failed` / `Undeliverable`
    /// (not an error for MaxErrors, as in SSM), so no command waits for a host that
    /// is gone, and frees their MaxConcurrency slots.
    func instanceDeregistered(_ instanceID: String, now: Date = Date()) async {
        do {
            for command in try await store.activeCommands() {
                let open: Set<InvocationStatus> = [.pending, .delayed, .inProgress, .cancelling]
                let ended = try await store.transitionInvocation(commandID: command.id, instanceID: instanceID, InvocationTransition(
                    from: open, to: .failed, details: StatusDetails.undeliverable, endedAt: now), at: now)
                if ended != nil { requestPass(commandID: command.id) }
            }
        } catch {
            logger.error("could not end the invocations of a deregistered instance", metadata: ["instance": "\(instanceID)", "error": "\(error)"])
        }
    }

    /// Stores the delivery's status as its policy sums it up.
    @discardableResult
    private func updateAggregate(_ command: CommandRecord, _ invocations: [InvocationState], policy: any DeliveryPolicy, now: Date) async throws -> CommandAggregate {
        let aggregate = policy.summary(command, invocations)
        try await store.updateCommand(
            id: command.id, status: aggregate.status, statusDetails: aggregate.statusDetails, completedCount: aggregate.completedCount,
            errorCount: aggregate.errorCount, deliveryTimedOutCount: aggregate.deliveryTimedOutCount,
            finishedAt: aggregate.status.isTerminal ? now : nil, at: now
        )
        return aggregate
    }

    /// Tells the agent to stop (or drop) one invocation, if it is connected here.
    nonisolated func sendCancel(commandID: String, instanceID: String) {
        sendToAgent(.cancelInvocation(InvocationRef(invocationId: RunInvocation.id(commandID: commandID, instanceID: instanceID))), instanceID: instanceID)
    }

    /// Queues one message on the agent's live channel; false if it has none here.
    /// Never waits for the write: the dispatcher must not stall behind one agent.
    @discardableResult
    nonisolated func sendToAgent(_ message: ChannelMessage, instanceID: String) -> Bool {
        registry.send(message, to: instanceID)
    }
}

extension Dispatcher: FleetEventSubscriber {
    /// An agent that came online gets what waited for it; a deregistered one's open
    /// invocations end. Nonisolated: a hello only asks for a pass, it never waits
    /// for one in progress (thousands of agents reconnect at once after a restart).
    nonisolated func fleetEvent(_ event: FleetEvent) async {
        switch event {
        case .online: requestFullPass()
        case .offline: break
        case .deregistered(let instanceID, let at): await instanceDeregistered(instanceID, now: at)
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
            // The sleep ends at once on shutdown, so a restart does not wait for it.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully { break }
            await dispatcher.kickAll()
        }
    }
}
