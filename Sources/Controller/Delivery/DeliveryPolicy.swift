import Foundation

/// What one capability decides about its deliveries. Everything else is the delivery
/// mechanism's (`Dispatcher`), the same for every kind of work: storing before sending,
/// acknowledgement and resends, taking back what went out on a channel that is gone,
/// delivery and execution timeouts, cancels, and ending the invocations of a
/// deregistered instance.
///
/// A policy is asked once per pass over an active delivery, after the mechanism's own
/// moves, with the invocations as they now stand. It must be a pure decision over what
/// it is given (no store access, no waiting): every replica and every restart must
/// come to the same answer from what is stored.
protocol DeliveryPolicy: Sendable {
    /// Which waiting (Pending or Delayed) invocations to send now, in order, which to
    /// end unsent, and how many may be in flight at once.
    /// - Parameter deliverable: whether an instance's agent is connected here now.
    func plan(_ delivery: CommandRecord, _ invocations: [InvocationState], deliverable: (String) -> Bool) -> DeliveryPlan

    /// The delivery's status and counts from its invocations, stored on the delivery. A
    /// terminal status ends the delivery: no pass looks at it again (a late result
    /// can still change it, through `Dispatcher.refreshAggregate`).
    func summary(_ delivery: CommandRecord, _ invocations: [InvocationState]) -> CommandAggregate
}

/// A policy's answer for one pass.
struct DeliveryPlan: Equatable, Sendable {
    /// Waiting invocations (instance ids) to send now, in order.
    var send: [String]
    /// Waiting invocations never to send: they end `Cancelled` / `Terminated`.
    var terminate: [String]
    /// The most invocations of this delivery that may be InProgress at once. The
    /// mechanism applies it again when it stores the sends, under the delivery's row
    /// lock, so replicas deciding at the same moment cannot exceed it together.
    var inFlightLimit: Int
}
