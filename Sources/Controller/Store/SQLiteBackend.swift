import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import Shared

/// The embedded store: one SQLite file in WAL mode, one connection, every use
/// serialised by a mutex (SQLite allows one writer; serialising also keeps
/// transactions from interleaving on the shared connection).
final class SQLiteBackend: SQLBackend {
    let name = "sqlite"
    private let connection: SQLiteConnection
    private let mutex = AsyncMutex()
    private let logger: Logger

    private init(connection: SQLiteConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    static func open(path: String, logger: Logger) async throws -> SQLiteBackend {
        let connection = try await SQLiteConnection.open(
            storage: .file(path: path),
            threadPool: .singleton,
            logger: logger,
            on: MultiThreadedEventLoopGroup.singleton.any()
        ).get()
        let backend = SQLiteBackend(connection: connection, logger: logger)
        let db = connection.sql()
        // WAL lets readers proceed during a write and survives kill -9 without
        // losing committed transactions; NORMAL sync is durable in WAL mode except on power loss
        // of the last transaction, FULL keeps even that.
        try await db.raw("PRAGMA journal_mode = WAL").run()
        try await db.raw("PRAGMA synchronous = FULL").run()
        try await db.raw("PRAGMA foreign_keys = ON").run()
        try await db.raw("PRAGMA busy_timeout = 5000").run()
        return backend
    }

    func withDatabase<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = connection.sql()
        return try await mutex.withLock { try await body(db) }
    }

    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let db = connection.sql()
        return try await mutex.withLock {
            try await db.raw("BEGIN IMMEDIATE").run()
            do {
                let value = try await body(db)
                try await db.raw("COMMIT").run()
                return value
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    func withMigrationLock<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        // The data dir lock already keeps a second controller off this file.
        try await withDatabase(body)
    }

    func shutdown() async {
        await mutex.lock()
        try? await connection.close().get()
    }
}
