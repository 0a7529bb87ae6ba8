import Foundation
import SQLKit
import TenderAPI

/// Operator API tokens, found by hash.
extension SQLStore: TokenStore {
    public func insertToken(_ t: TokenRecord) async throws {
        try await backend.withDatabase { db in
            try await db.raw("""
                INSERT INTO api_tokens (id, name, role, token_hash, created_at, revoked_at)
                VALUES (\(bind: t.id), \(bind: t.name), \(bind: t.role.rawValue), \(bind: t.tokenHash), \(bind: Millis.from(t.createdAt)), \(bind: t.revokedAt.map(Millis.from)))
                """).run()
        }
    }

    public func token(hash: String) async throws -> TokenRecord? {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM api_tokens WHERE token_hash = \(bind: hash)").first().map(Self.token(from:))
        }
    }

    public func tokens() async throws -> [TokenRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM api_tokens ORDER BY created_at, id").all().map(Self.token(from:))
        }
    }

    public func revokeToken(id: String, at: Date) async throws -> Bool {
        try await backend.withDatabase { db in
            !(try await db.raw("UPDATE api_tokens SET revoked_at = \(bind: Millis.from(at)) WHERE id = \(bind: id) AND revoked_at IS NULL RETURNING id").all()).isEmpty
        }
    }

    private static func token(from row: any SQLRow) throws -> TokenRecord {
        TokenRecord(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .readOnly,
            tokenHash: try row.decode(column: "token_hash", as: String.self),
            createdAt: Millis.date(try row.decode(column: "created_at", as: Int.self)),
            revokedAt: try row.decode(column: "revoked_at", as: Int?.self).map(Millis.date)
        )
    }
}
