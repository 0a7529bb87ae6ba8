import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Shared

/// Keeps `pingStatus` honest: closes channels that went silent (a TCP connection
/// that died without a FIN) and writes heartbeat times in one batch per interval,
/// instead of a timer and a write per agent.
public struct PresenceMonitor: Service {
    let registry: ConnectionRegistry
    let store: any Store
    let sessions: AgentSessionHandler
    let heartbeatTimeout: TimeAmount
    /// How often `last_ping_at` is written. Presence itself (`pingStatus`) is written
    /// when an agent comes or goes; the timestamp is informational, so it is written
    /// rarely: rewriting ten thousand rows every couple of seconds cost more than the
    /// heartbeats themselves.
    let flushInterval: Duration
    /// How often deregistrations made on other replicas are looked for.
    let deregistrationCheckInterval: Duration
    let logger: Logger

    /// The default `flushInterval`, in seconds.
    static let pingFlushSeconds: Int64 = 10

    init(registry: ConnectionRegistry, store: any Store, sessions: AgentSessionHandler, heartbeatTimeout: TimeAmount, flushInterval: Duration = .seconds(pingFlushSeconds),
         deregistrationCheckInterval: Duration = .seconds(2), logger: Logger) {
        self.deregistrationCheckInterval = deregistrationCheckInterval
        self.registry = registry
        self.store = store
        self.sessions = sessions
        self.heartbeatTimeout = heartbeatTimeout
        self.flushInterval = flushInterval
        self.logger = logger
    }

    /// Deregistration on another replica (several controllers on one database) must
    /// still close the channel this replica holds, within a flush interval.
    private func closeDeregisteredElsewhere() async {
        let since = Date().addingTimeInterval(-60)
        do {
            for id in try await store.instancesDeregistered(since: since) where registry.isConnected(id) {
                await sessions.disconnectDeregistered(instanceID: id)
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
                for (id, channel) in silent {
                    logger.info("agent went silent, closing its channel", metadata: ["instance": "\(id)"])
                    channel.close(promise: nil)
                }
                do {
                    // Skip any that reconnected in the meantime.
                    let offline = silent.map(\.0).filter { !registry.isConnected($0) }
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
