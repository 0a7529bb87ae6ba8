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
    let heartbeatTimeout: TimeAmount
    let flushInterval: Duration
    let logger: Logger

    public init(registry: ConnectionRegistry, store: any Store, heartbeatTimeout: TimeAmount, flushInterval: Duration = .seconds(2), logger: Logger) {
        self.registry = registry
        self.store = store
        self.heartbeatTimeout = heartbeatTimeout
        self.flushInterval = flushInterval
        self.logger = logger
    }

    public func run() async throws {
        var lastFlush = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .milliseconds(500))
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
