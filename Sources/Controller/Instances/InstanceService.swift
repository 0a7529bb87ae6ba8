import Foundation
import TenderAPI
import TenderWire

/// The fleet registry as operators see it: listing with target filters, tags,
/// and deregistration, which revokes the instance's identity at once.
public struct InstanceService: Sendable {
    /// Online in another replica's view is trusted while its last heartbeat write is
    /// this fresh: three of that replica's heartbeat flushes, and some slack.
    static let remoteOnlineFreshness = TimeInterval(PresenceMonitor.pingFlushSeconds) * 3.5

    let store: any InstanceStore
    let registry: ConnectionRegistry
    /// Told of a deregistration: the gateway closes the channel, the dispatcher ends
    /// the instance's open invocations.
    let events: FleetEvents

    init(store: any InstanceStore, registry: ConnectionRegistry, events: FleetEvents) {
        self.store = store
        self.registry = registry
        self.events = events
    }

    public static func validateName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw TenderError.validation("instance name must not be empty") }
        guard name.count <= 128 else { throw TenderError.validation("instance name is longer than 128 characters") }
        guard !name.contains(where: \.isNewline) else { throw TenderError.validation("instance name must not contain a line break") }
    }

    public func list(targets: [TargetFilter], now: Date = Date()) async throws -> [InstanceInfo] {
        let records = try await store.instances()
        let selected = targets.isEmpty ? records : records.filter { TargetFilter.allMatch(targets, instanceID: $0.id, tags: $0.tags) }
        return selected.map { info($0, now: now) }
    }

    public func get(_ id: String, now: Date = Date()) async throws -> InstanceInfo {
        guard let record = try await store.instance(id: id), record.state == .active else {
            throw TenderError.notFound("instance \(id) does not exist")
        }
        return info(record, now: now)
    }

    public func tag(_ id: String, tags: [String: String]) async throws -> InstanceInfo {
        guard !tags.isEmpty else { throw TenderError.validation("give at least one tag as KEY=VALUE") }
        for (key, value) in tags { try Tags.validate(key: key, value: value) }
        guard try await store.setTags(instanceID: id, tags: tags) else { throw TenderError.notFound("instance \(id) does not exist") }
        return try await get(id)
    }

    public func untag(_ id: String, keys: [String]) async throws -> InstanceInfo {
        guard !keys.isEmpty else { throw TenderError.validation("give at least one tag key to remove") }
        guard try await store.removeTags(instanceID: id, keys: keys) else { throw TenderError.notFound("instance \(id) does not exist") }
        return try await get(id)
    }

    /// Marks the instance deregistered (its certificate is refused from now on) and
    /// closes its live channel, telling the agent why; its open invocations end
    /// `Failed` / `Undeliverable`.
    public func deregister(_ id: String, now: Date = Date()) async throws {
        guard try await store.deregisterInstance(id: id, at: now) else { throw TenderError.notFound("instance \(id) does not exist") }
        await events.publish(.deregistered(instanceID: id, at: now))
    }

    func pingStatus(_ record: InstanceRecord, now: Date) -> PingStatus {
        if registry.isConnected(record.id) { return .online }
        if record.pingStatus == .online, let last = record.lastPingAt, now.timeIntervalSince(last) < Self.remoteOnlineFreshness {
            return .online
        }
        return .connectionLost
    }

    func info(_ r: InstanceRecord, now: Date) -> InstanceInfo {
        InstanceInfo(
            instanceId: r.id, name: r.name, pingStatus: pingStatus(r, now: now), lastPingAt: r.lastPingAt,
            agentVersion: r.agentVersion, platformName: r.platformName, platformVersion: r.platformVersion,
            ipAddress: r.ipAddress, hostname: r.hostname, tags: r.tags, activationId: r.activationID, registeredAt: r.registeredAt
        )
    }
}
