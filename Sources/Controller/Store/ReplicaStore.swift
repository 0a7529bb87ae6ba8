import Foundation

/// The controller replicas sharing the database, and when each was last seen. The
/// dispatcher uses it to tell an agent held by a live replica from one whose
/// channel died with its replica (docs/run-command.md, "Several replicas").
public protocol ReplicaStore: Sendable {
    /// Records that replica `id` is alive (started at `startedAt`), now.
    func recordReplica(id: String, startedAt: Date, at: Date) async throws
    /// The replicas seen at or after `since`.
    func replicas(seenSince since: Date) async throws -> Set<String>
    /// Forgets replicas last seen before `before`.
    func removeReplicas(seenBefore before: Date) async throws
}
