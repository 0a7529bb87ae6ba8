import Foundation
import Logging
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit
import TenderWire

/// The scale-out store: a PostgreSQL connection pool shared by every request of
/// this replica; several replicas may use the same database.
final class PostgresBackend: SQLBackend {
    let name = "postgres"
    private let client: PostgresClient
    private let runTask: Task<Void, Never>

    /// Arbitrary but fixed key for `pg_advisory_lock` around migrations.
    private static let migrationLockKey = 7_428_100_001

    init(url: String, logger: Logger) async throws {
        let configuration = try Self.configuration(from: url)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.runTask = Task { await client.run() }
        // Give run() its first step before any query: PostgresClient warns about
        // queries issued before it is running (they would wait, but the log line alarms).
        try? await Task.sleep(for: .milliseconds(20))
    }

    /// Parses `postgres://user:pass@host:port/db[?sslmode=disable|prefer|require]`.
    static func configuration(from url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw TenderError.validation("--database must be a postgres://user:pass@host:port/db URL, got '\(Redact.url(url))'")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty else { throw TenderError.validation("--database URL names no database: '\(Redact.url(url))'") }
        let user = components.percentEncodedUser?.removingPercentEncoding ?? "postgres"
        let password = components.percentEncodedPassword?.removingPercentEncoding
        let sslmode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        // As libpq: prefer/require encrypt without checking the server's certificate,
        // verify-ca checks it against the system trust roots, verify-full also its name.
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        var caOnly = TLSConfiguration.makeClientConfiguration()
        caOnly.certificateVerification = .noHostnameVerification
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(unverified)
        case "require": tls = .require(unverified)
        case "verify-ca": tls = .require(caOnly)
        case "verify-full": tls = .require(.makeClientConfiguration())
        default: throw TenderError.validation("unknown sslmode '\(sslmode)' in --database URL (disable, prefer, require, verify-ca, verify-full)")
        }
        // A host that is a path (?host=/var/run/postgresql) means a unix socket.
        if let socketDir = components.queryItems?.first(where: { $0.name == "host" })?.value, socketDir.hasPrefix("/") {
            let port = components.port ?? 5432
            return PostgresClient.Configuration(unixSocketPath: "\(socketDir)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        return PostgresClient.Configuration(host: components.host ?? "localhost", port: components.port ?? 5432, username: user, password: password, database: database, tls: tls)
    }

    func withDatabase<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql())
        }
    }

    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            let db = connection.sql()
            try await db.raw("BEGIN").run()
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
        try await client.withConnection { connection in
            let db = connection.sql()
            try await db.raw("SELECT pg_advisory_lock(\(bind: Self.migrationLockKey))").run()
            do {
                let value = try await body(db)
                try await db.raw("SELECT pg_advisory_unlock(\(bind: Self.migrationLockKey))").run()
                return value
            } catch {
                try? await db.raw("SELECT pg_advisory_unlock(\(bind: Self.migrationLockKey))").run()
                throw error
            }
        }
    }

    func shutdown() async {
        runTask.cancel()
        await runTask.value
    }
}
