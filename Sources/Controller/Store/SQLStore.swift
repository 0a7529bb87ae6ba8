import Foundation
import Logging
import SQLKit
import TenderAPI
import TenderWire

/// The `Store` written once in SQL that SQLite and PostgreSQL both accept. This file
/// opens it, migrates it and holds what the areas share; each area is an extension in
/// its own file (SQLStore+Activations.swift, +Instances, +Documents, +Commands,
/// +Invocations, +Events, +Tokens).
public final class SQLStore: StoreLifecycle {
    let backend: any SQLBackend
    public var backendName: String { backend.name }

    init(backend: any SQLBackend) {
        self.backend = backend
    }

    /// The embedded default: `path` is the SQLite file.
    public static func sqlite(path: String, logger: Logger) async throws -> SQLStore {
        SQLStore(backend: try await SQLiteBackend.open(path: path, logger: logger))
    }

    /// `url` is `postgres://user:pass@host:port/db`.
    public static func postgres(url: String, logger: Logger) async throws -> SQLStore {
        SQLStore(backend: try await PostgresBackend(url: url, logger: logger))
    }

    public func shutdown() async {
        await backend.shutdown()
    }

    // MARK: Migrations

    public func migrate() async throws {
        try await backend.withMigrationLock { db in
            try await db.raw("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """).run()
            let applied = Set(try await db.raw("SELECT version FROM schema_migrations").all().map { try $0.decode(column: "version", as: Int.self) })
            // A newer controller migrated this database: an older one must not write to it.
            if let newest = applied.max(), let known = Migrations.all.last?.version, newest > known {
                throw TenderError(.conflict, "the database is at schema version \(newest), newer than this controller knows (\(known)); run the newer tender-controller")
            }
            for migration in Migrations.all where !applied.contains(migration.version) {
                try await db.raw("BEGIN").run()
                do {
                    for statement in migration.statements(for: backend.name) {
                        try await db.raw(SQLQueryString(statement)).run()
                    }
                    try await db.raw("INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Millis.now()))").run()
                    try await db.raw("COMMIT").run()
                } catch {
                    try? await db.raw("ROLLBACK").run()
                    throw TenderError(.internalError, "migration \(migration.version) (\(migration.name)) failed: \(String(reflecting: error))")
                }
            }
        }
    }

    public func schemaVersion() async throws -> Int {
        try await backend.withDatabase { db in
            try await db.raw("SELECT MAX(version) AS v FROM schema_migrations").first()?.decode(column: "v", as: Int?.self) ?? 0
        }
    }

    // MARK: Helpers

    static func encodeTags(_ tags: [String: String]) throws -> String {
        String(decoding: try JSON.encoder().encode(tags), as: UTF8.self)
    }

    static func decodeTags(_ text: String) throws -> [String: String] {
        try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }
}

extension SQLStore: Store {}

/// Times are stored as epoch milliseconds in BIGINT columns: one representation
/// that sorts, compares and round-trips identically on both databases.
enum Millis {
    static func from(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ millis: Int) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
    static func now() -> Int { from(Date()) }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}