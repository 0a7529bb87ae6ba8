import Foundation
import SQLKit
import TenderWire

/// Document versions: rows are only ever added; deletion sets `deleted_at` on them.
extension SQLStore: DocumentStore {
    public func createDocument(name: String, content: String, at: Date) async throws -> DocumentRecord {
        try await backend.transaction { db in
            // A deleted name may be reused: numbering continues so old versions stay distinct.
            let rows = try await db.raw("SELECT version, deleted_at FROM documents WHERE name = \(bind: name) ORDER BY version DESC").all()
            if let latest = rows.first, try latest.decode(column: "deleted_at", as: Int?.self) == nil {
                throw TenderError(.conflict, "document '\(name)' already exists; use update to add a version")
            }
            let version = try (rows.first?.decode(column: "version", as: Int.self) ?? 0) + 1
            try await db.raw("""
                INSERT INTO documents (name, version, content, created_at, deleted_at)
                VALUES (\(bind: name), \(bind: version), \(bind: content), \(bind: Millis.from(at)), NULL)
                """).run()
            return DocumentRecord(name: name, version: version, content: content, createdAt: Millis.date(Millis.from(at)))
        }
    }

    public func updateDocument(name: String, content: String, at: Date) async throws -> DocumentRecord {
        try await backend.transaction { db in
            guard let latest = try await db.raw("SELECT version FROM documents WHERE name = \(bind: name) AND deleted_at IS NULL ORDER BY version DESC").first() else {
                throw TenderError.notFound("document '\(name)' does not exist")
            }
            let version = try latest.decode(column: "version", as: Int.self) + 1
            try await db.raw("""
                INSERT INTO documents (name, version, content, created_at, deleted_at)
                VALUES (\(bind: name), \(bind: version), \(bind: content), \(bind: Millis.from(at)), NULL)
                """).run()
            return DocumentRecord(name: name, version: version, content: content, createdAt: Millis.date(Millis.from(at)))
        }
    }

    public func document(name: String, version: Int?) async throws -> DocumentRecord? {
        try await backend.withDatabase { db in
            let row: (any SQLRow)?
            if let version {
                row = try await db.raw("SELECT * FROM documents WHERE name = \(bind: name) AND version = \(bind: version) AND deleted_at IS NULL").first()
            } else {
                row = try await db.raw("SELECT * FROM documents WHERE name = \(bind: name) AND deleted_at IS NULL ORDER BY version DESC").first()
            }
            return try row.map(Self.document(from:))
        }
    }

    public func documents() async throws -> [DocumentRecord] {
        try await backend.withDatabase { db in
            try await db.raw("""
                SELECT d.* FROM documents d
                JOIN (SELECT name, MAX(version) AS version FROM documents WHERE deleted_at IS NULL GROUP BY name) latest
                  ON latest.name = d.name AND latest.version = d.version
                ORDER BY d.name
                """).all().map(Self.document(from:))
        }
    }

    public func deleteDocument(name: String, at: Date) async throws -> Bool {
        try await backend.withDatabase { db in
            !(try await db.raw("UPDATE documents SET deleted_at = \(bind: Millis.from(at)) WHERE name = \(bind: name) AND deleted_at IS NULL RETURNING version").all()).isEmpty
        }
    }

    private static func document(from row: any SQLRow) throws -> DocumentRecord {
        DocumentRecord(
            name: try row.decode(column: "name", as: String.self),
            version: try row.decode(column: "version", as: Int.self),
            content: try row.decode(column: "content", as: String.self),
            createdAt: Millis.date(try row.decode(column: "created_at", as: Int.self)),
            deletedAt: try row.decode(column: "deleted_at", as: Int?.self).map(Millis.date)
        )
    }
}
