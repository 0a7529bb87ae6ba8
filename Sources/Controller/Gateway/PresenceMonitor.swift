import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Keeps `pingStatus` honest: closes channels that went silent (a TCP connection
/// that died without a FIN) and writes heartbeat times in one batch per interval,
/// instead of a timer and a write per agent.
public struct PresenceMonitor: Service {
    let registry: ConnectionRegistry
    let store: any InstanceStore
    /// Told of deregistrations made on other replicas.
    let events: FleetEvents
    let heartbeatTimeout: TimeAmount
    /// How often `last_ping_at` is written. Presence itself (`pingStatus`) is written
    /// when an agent comes or goes; the timestamp is informational, so it is written
    /// rarely: rewriting ten thousand rows every couple of seconds cost more than the
    /// heartbeats themselves.
    let flushInterval: Duration
    /// How often deregistrations made on other replicas are looked for. Not how fast a
    /// deregistration on this replica takes effect: that closes the channel at once
    /// (`InstanceService.deregister`).
    let deregistrationCheckInterval: Duration
    let logger: Logger

    /// The default `flushInterval`, in seconds.
    static let pingFlushSeconds: Int64 = 10
    /// The default `deregistrationCheckInterval` (`--deregistration-check-interval`), in seconds.
    public static let defaultDeregistrationCheckSeconds: Double = 2
    /// What `--deregistration-check-interval` accepts: the loop runs every 0.5 s, so less
    /// means nothing; a day is the most that still deserves the name.
    public static let deregistrationCheckSecondsRange: ClosedRange<Double> = 0.5...86_400
    /// How far back each check looks: at least a minute (a check that failed, clocks of
    /// replicas that differ a little) and always two intervals, so no deregistration
    /// falls between two checks.
    static func deregistrationLookBack(interval: Duration) -> TimeInterval {
        max(60, 2 * (interval / .seconds(1)))
    }

    init(registry: ConnectionRegistry, store: any InstanceStore, events: FleetEvents, heartbeatTimeout: TimeAmount, flushInterval: Duration = .seconds(pingFlushSeconds),
         deregistrationCheckInterval: Duration = .milliseconds(Int64(defaultDeregistrationCheckSeconds * 1000)), logger: Logger) {
        self.deregistrationCheckInterval = deregistrationCheckInterval
        self.registry = registry
        self.store = store
        self.events = events
        self.heartbeatTimeout = heartbeatTimeout
        self.flushInterval = flushInterval
        self.logger = logger
    }

    /// Deregistration on another replica (several controllers on one database) must
    /// still close the channel this replica holds, within a flush interval.
    private func closeDeregisteredElsewhere() async {
        let since = Date().addingTimeInterval(-Self.deregistrationLookBack(interval: deregistrationCheckInterval))
        do {
            for id in try await store.instancesDeregistered(since: since) where registry.isConnected(id) {
                await events.publish(.deregistered(instanceID: id, at: Date()))
            }
        } catch {
            logger.error("could not check for deregistered instances", metadata: ["error": "\(error)"])
        }
    }

    public func run() async throws {
        var lastFlush = ContinuousClock.now
        var lastCheck = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(500)) }
            if Task.isShuttingDownGracefully { break }
            let silent = registry.evictSilent(longerThan: heartbeatTimeout)
            if !silent.isEmpty {
                for agent in silent {
                    // How long it was silent, from this controller's own clock: what the
                    // heartbeat timeout is checked against (and what the E2E tests read).
                    logger.info("agent went silent, closing its channel", metadata: [
                        "instance": "\(agent.id)", "silentFor": "\(String(format: "%.2f", Double(agent.silentFor.nanoseconds) / 1e9))s",
                    ])
                    agent.connection.drop()
                }
                do {
                    // Skip any that reconnected in the meantime.
                    let offline = silent.map(\.id).filter { !registry.isConnected($0) }
                    try await store.setPingStatus(instanceIDs: offline, status: .connectionLost, at: Date())
                } catch {
                    logger.error("could not record silent agents as offline", metadata: ["error": "\(error)"])
                }
            }
            if ContinuousClock.now - lastCheck >= deregistrationCheckInterval {
                lastCheck = .now
                await closeDeregisteredElsewhere()
            }
            if ContinuousClock.now - lastFlush >= flushInterval {
                lastFlush = .now
                let seen = registry.takeSeen()
                do {
                    try await store.recordPings(instanceIDs: seen, at: Date())
                } catch {
                    logger.error("could not record heartbeats", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
