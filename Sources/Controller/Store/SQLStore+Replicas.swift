import Foundation
import SQLKit

/// The `ReplicaStore` methods: one row per controller process, its heartbeat.
extension SQLStore {
    public func recordReplica(id: String, startedAt: Date, at: Date) async throws {
        try await backend.withDatabase { db in
            try await db.raw("""
                INSERT INTO controller_replicas (id, started_at, seen_at) VALUES (\(bind: id), \(bind: Millis.from(startedAt)), \(bind: Millis.from(at)))
                ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at
                """).run()
        }
    }

    public func replicas(seenSince since: Date) async throws -> Set<String> {
        try await backend.withDatabase { db in
            let rows = try await db.raw("SELECT id FROM controller_replicas WHERE seen_at >= \(bind: Millis.from(since))").all()
            return Set(try rows.map { try $0.decode(column: "id", as: String.self) })
        }
    }

    public func removeReplicas(seenBefore before: Date) async throws {
        try await backend.withDatabase { db in
            try await db.raw("DELETE FROM controller_replicas WHERE seen_at < \(bind: Millis.from(before))").run()
        }
    }
}
