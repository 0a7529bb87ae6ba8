import Foundation
import NIOConcurrencyHelpers

/// What happens to agents that other parts of the controller act on.
enum FleetEvent: Sendable, Equatable {
    /// The agent's channel is up on this replica (after its hello).
    case online(instanceID: String)
    /// Its channel on this replica ended, and no newer one replaced it.
    case offline(instanceID: String)
    /// An operator deregistered it (here, or on another replica and seen here).
    case deregistered(instanceID: String, at: Date)
}

/// Reacts to fleet events (the dispatcher sends waiting work to an agent that came
/// online; the gateway closes a deregistered agent's channel).
protocol FleetEventSubscriber: Sendable {
    func fleetEvent(_ event: FleetEvent) async
}

/// Who publishes an event (the session that saw the hello, the service that
/// deregistered) does not know who acts on it; subscribers are added while the
/// controller is wired, before anything publishes, and are told in the order they
/// subscribed, one after the other.
final class FleetEvents: Sendable {
    private let subscribers = NIOLockedValueBox<[any FleetEventSubscriber]>([])

    init() {}

    func subscribe(_ subscriber: any FleetEventSubscriber) {
        subscribers.withLockedValue { $0.append(subscriber) }
    }

    /// Returns once every subscriber has handled it.
    func publish(_ event: FleetEvent) async {
        for subscriber in subscribers.withLockedValue({ $0 }) {
            await subscriber.fleetEvent(event)
        }
    }
}
