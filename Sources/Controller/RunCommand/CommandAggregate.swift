import TenderWire

/// A command's status and counts, derived from its invocations' statuses.
///
/// Kept as a pure function of the invocations so every replica, and every restart,
/// computes the same answer from what is stored.
struct CommandAggregate: Equatable, Sendable {
    var status: CommandStatus
    var statusDetails: String
    var targetCount: Int
    var completedCount: Int
    var errorCount: Int
    var deliveryTimedOutCount: Int

    struct Invocation: Equatable, Sendable {
        var status: InvocationStatus
        var details: String
        /// True once the agent acknowledged it (it was delivered).
        var started: Bool
    }

    /// What counts against MaxErrors, as in SSM: failures and execution timeouts.
    /// Delivery timeouts and `Undeliverable` (the instance was deregistered) do not.
    static func isError(status: InvocationStatus, details: String) -> Bool {
        (status == .failed && details != StatusDetails.undeliverable) || (status == .timedOut && details == StatusDetails.executionTimedOut)
    }

    init(_ invocations: [Invocation], cancelRequested: Bool) {
        targetCount = invocations.count
        completedCount = invocations.filter { $0.status.isTerminal }.count
        errorCount = invocations.filter { Self.isError(status: $0.status, details: $0.details) }.count
        deliveryTimedOutCount = invocations.filter { $0.status == .timedOut && $0.details == StatusDetails.deliveryTimedOut }.count
        let undeliverable = invocations.filter { $0.status == .failed && $0.details == StatusDetails.undeliverable }.count

        if invocations.contains(where: { !$0.status.isTerminal }) {
            if cancelRequested {
                (status, statusDetails) = (.cancelling, "Cancelling")
            } else if invocations.contains(where: { $0.started || $0.status.isTerminal }) {
                (status, statusDetails) = (.inProgress, StatusDetails.inProgress)
            } else {
                (status, statusDetails) = (.pending, StatusDetails.pending)
            }
            return
        }
        let succeeded = invocations.filter { $0.status == .success }.count
        if errorCount > 0 {
            (status, statusDetails) = (.failed, StatusDetails.failed)
        } else if invocations.contains(where: { $0.status == .cancelled }) {
            (status, statusDetails) = (.cancelled, cancelRequested ? StatusDetails.cancelled : StatusDetails.terminated)
        } else if deliveryTimedOutCount > 0 || undeliverable > 0 {
            // Success means every delivered invocation succeeded; some never arrived.
            if succeeded > 0 {
                (status, statusDetails) = (.success, StatusDetails.incomplete)
            } else if deliveryTimedOutCount > 0 {
                (status, statusDetails) = (.timedOut, StatusDetails.deliveryTimedOut)
            } else {
                (status, statusDetails) = (.failed, StatusDetails.undeliverable)
            }
        } else {
            (status, statusDetails) = (.success, StatusDetails.success)
        }
    }
}

/// What the dispatcher does next for one command: the sliding window of
/// MaxConcurrency and the MaxErrors stop, as a pure decision.
struct DispatchPlan: Equatable, Sendable {
    /// Pending invocations to send now, in target order.
    var send: [String]
    /// Pending invocations never to send (the error limit was passed): `Cancelled`/`Terminated`.
    var terminate: [String]

    /// - Parameters:
    ///   - concurrency: the resolved MaxConcurrency window.
    ///   - maxErrors: the resolved MaxErrors; sending stops once errors exceed it.
    ///   - inFlight: invocations sent and not yet finished.
    ///   - pending: instance ids not yet sent, in target order.
    ///   - deliverable: whether an instance can be sent to now (connected).
    static func make(concurrency: Int, maxErrors: Int, inFlight: Int, errors: Int, pending: [String], deliverable: (String) -> Bool) -> DispatchPlan {
        if errors > maxErrors {
            return DispatchPlan(send: [], terminate: pending)
        }
        let room = max(0, concurrency - inFlight)
        guard room > 0 else { return DispatchPlan(send: [], terminate: []) }
        var send: [String] = []
        for id in pending where deliverable(id) {
            send.append(id)
            if send.count == room { break }
        }
        return DispatchPlan(send: send, terminate: [])
    }
}
