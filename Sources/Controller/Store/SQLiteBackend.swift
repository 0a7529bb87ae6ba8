import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import TenderWire

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
        // Owner only, set before SQLite writes a byte (its journal files copy the
        // database file's mode); an older, wider file is tightened.
        try restrictMode(path: path, logger: logger)
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
        try restrictMode(path: path, logger: logger)
        return backend
    }

    /// The database holds token and activation-code hashes and every command's
    /// output: readable by the controller's user only.
    static let fileMode: mode_t = 0o600

    /// Creates the database file with `fileMode` if it is missing, and takes group and
    /// other access away from it and from its `-wal`, `-shm` and `-journal` files.
    static func restrictMode(path: String, logger: Logger) throws {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw TenderError(.internalError, "cannot open \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        for file in [path, path + "-wal", path + "-shm", path + "-journal"] {
            var info = stat()
            guard stat(file, &info) == 0, info.st_mode & 0o077 != 0 else { continue }
            guard chmod(file, fileMode) == 0 else {
                throw TenderError(.internalError, "cannot make \(file) private (mode 0600): \(String(cString: strerror(errno)))")
            }
            logger.notice("made the database file private (it was readable by others)", metadata: ["path": "\(file)", "was": "\(String(info.st_mode & 0o777, radix: 8))"])
        }
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
