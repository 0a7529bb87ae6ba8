import Foundation
import SQLKit

/// Activations. Registration (SQLStore+Instances.swift) counts against them in its own
/// statement and decodes the row with `activation(from:)` to tell why one cannot be used.
extension SQLStore: ActivationStore {
    public func insertActivation(_ a: ActivationRecord) async throws {
        let tags = try Self.encodeTags(a.tags)
        try await backend.withDatabase { db in
            try await db.raw("""
                INSERT INTO activations (id, code_hash, registration_limit, registrations_count, expires_at,
                    default_instance_name, description, tags_json, created_at, deleted_at)
                VALUES (\(bind: a.id), \(bind: a.codeHash), \(bind: a.registrationLimit), \(bind: a.registrationsCount),
                    \(bind: Millis.from(a.expiresAt)), \(bind: a.defaultInstanceName), \(bind: a.description), \(bind: tags),
                    \(bind: Millis.from(a.createdAt)), \(bind: a.deletedAt.map(Millis.from)))
                """).run()
        }
    }

    public func activation(id: String) async throws -> ActivationRecord? {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM activations WHERE id = \(bind: id)").first().map(Self.activation(from:))
        }
    }

    public func activations() async throws -> [ActivationRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM activations WHERE deleted_at IS NULL ORDER BY created_at DESC, id").all().map(Self.activation(from:))
        }
    }

    public func deleteActivation(id: String, at: Date) async throws -> Bool {
        try await backend.withDatabase { db in
            let rows = try await db.raw("UPDATE activations SET deleted_at = \(bind: Millis.from(at)) WHERE id = \(bind: id) AND deleted_at IS NULL RETURNING id").all()
            return !rows.isEmpty
        }
    }

    static func activation(from row: any SQLRow) throws -> ActivationRecord {
        ActivationRecord(
            id: try row.decode(column: "id", as: String.self),
            codeHash: try row.decode(column: "code_hash", as: String.self),
            registrationLimit: try row.decode(column: "registration_limit", as: Int.self),
            registrationsCount: try row.decode(column: "registrations_count", as: Int.self),
            expiresAt: Millis.date(try row.decode(column: "expires_at", as: Int.self)),
            defaultInstanceName: try row.decode(column: "default_instance_name", as: String?.self),
            description: try row.decode(column: "description", as: String?.self),
            tags: try decodeTags(try row.decode(column: "tags_json", as: String.self)),
            createdAt: Millis.date(try row.decode(column: "created_at", as: Int.self)),
            deletedAt: try row.decode(column: "deleted_at", as: Int?.self).map(Millis.date)
        )
    }
}
