import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import TenderWire

/// The agents connected to this controller process, one live channel per instance.
///
/// Kept deliberately small per entry (it is held for every agent in the fleet) and
/// behind one lock rather than an actor, because it is touched on every heartbeat.
public final class ConnectionRegistry: Sendable {
    struct Entry {
        var connectionID: UInt64
        var connection: AgentConnection
        /// Updated by the channel's heartbeat responder, not through this registry's lock.
        var liveness: Liveness
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    private let nextID = NIOLockedValueBox<UInt64>(0)

    public init() {}

    func makeConnectionID() -> UInt64 {
        nextID.withLockedValue { value in
            value += 1
            return value
        }
    }

    /// Records `instanceID`'s new channel; returns the connection it replaces, if any,
    /// so the caller can close it (an agent that reconnected before its old TCP
    /// connection was noticed dead).
    func add(instanceID: String, connectionID: UInt64, channel: any Channel, liveness: Liveness) -> AgentConnection? {
        liveness.heard()
        return entries.withLockedValue { entries in
            let old = entries[instanceID]?.connection
            entries[instanceID] = Entry(connectionID: connectionID, connection: AgentConnection(channel: channel), liveness: liveness)
            return old
        }
    }

    /// Removes the entry if it still belongs to `connectionID`; true if it did (so the
    /// instance really went offline rather than moved to a newer connection).
    func remove(instanceID: String, connectionID: UInt64) -> Bool {
        entries.withLockedValue { entries in
            guard entries[instanceID]?.connectionID == connectionID else { return false }
            entries[instanceID] = nil
            return true
        }
    }

    public func isConnected(_ instanceID: String) -> Bool {
        entries.withLockedValue { $0[instanceID] != nil }
    }

    public var count: Int { entries.withLockedValue { $0.count } }

    /// Removes and returns the channels silent for longer than `timeout`. Removing
    /// them here, not when their close completes, makes the instance offline at once:
    /// closing TLS to a frozen peer can take seconds.
    func evictSilent(longerThan timeout: TimeAmount, now: NIODeadline = .now()) -> [(id: String, connection: AgentConnection, silentFor: TimeAmount)] {
        entries.withLockedValue { entries in
            let silent = entries.compactMap { id, entry -> (id: String, connection: AgentConnection, silentFor: TimeAmount)? in
                let silentFor = now - entry.liveness.lastHeard
                return silentFor > timeout ? (id, entry.connection, silentFor) : nil
            }
            for agent in silent { entries[agent.id] = nil }
            return silent
        }
    }

    /// Ids heard from since the last call, for one batched `last_ping_at` write.
    func takeSeen() -> [String] {
        entries.withLockedValue { entries in
            entries.compactMap { id, entry in entry.liveness.takeHeard() ? id : nil }
        }
    }

    /// The instance's live connection here, if it has one.
    func connection(for instanceID: String) -> AgentConnection? {
        entries.withLockedValue { $0[instanceID]?.connection }
    }

    /// Queues `message` on the instance's connection without waiting (see
    /// `AgentConnection`). False when the instance has no connection here.
    @discardableResult
    func send(_ message: ChannelMessage, to instanceID: String) -> Bool {
        connection(for: instanceID)?.send(message) ?? false
    }

    func allConnections() -> [AgentConnection] {
        entries.withLockedValue { $0.values.map(\.connection) }
    }
}
