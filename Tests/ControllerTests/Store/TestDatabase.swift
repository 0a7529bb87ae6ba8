import Foundation
import Logging
import SQLKit
import Testing
@testable import Controller

/// The store implementations the store suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The kinds the store tests run against: both, or only SQLite when there is no
    /// PostgreSQL to use. The missing PostgreSQL cases show up in the results as the
    /// skipped test `StoreTests.postgresIsAvailable`, with the reason.
    static var tested: [StoreKind] {
        TestDatabase.postgresURL == nil ? [.sqlite] : allCases
    }
}

/// A fresh, empty database for one test, removed again afterwards.
///
/// SQLite: a file in a new temp directory. PostgreSQL: a new database
/// `tender_test_<random hex>` on the server named by `TENDER_TEST_POSTGRES_URL`,
/// created and later dropped (`WITH (FORCE)`) through a connection to the URL's own
/// database, so runs can repeat and run in parallel without seeing each other.
struct TestDatabase: Sendable {
    static let postgresURLVariable = "TENDER_TEST_POSTGRES_URL"

    /// The admin URL from the environment; nil (or empty) means the PostgreSQL cases are skipped.
    static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment[postgresURLVariable], !url.isEmpty else { return nil }
        return url
    }

    /// True under a CI system (`CI` set to anything but empty, 0 or false), where the
    /// PostgreSQL cases must run, as in scripts/test.
    static var isCI: Bool {
        let value = ProcessInfo.processInfo.environment["CI"] ?? ""
        return !["", "0", "false", "False", "FALSE"].contains(value)
    }

    static let logger: Logger = {
        var logger = Logger(label: "tender.tests.store")
        // .error: PostgresNIO warns when the first query races `PostgresClient.run()` starting
        // (harmless, it waits), which would otherwise flood the output.
        logger.logLevel = .error
        return logger
    }()

    let kind: StoreKind
    /// The SQLite file path or the PostgreSQL URL of the test database.
    let location: String

    /// Opens a new store on this database (not migrated). Callers shut it down.
    func open() async throws -> SQLStore {
        switch kind {
        case .sqlite: try await SQLStore.sqlite(path: location, logger: Self.logger)
        case .postgres: try await SQLStore.postgres(url: location, logger: Self.logger)
        }
    }

    /// Creates a fresh database of `kind`, runs `body` with it and removes it again,
    /// whether `body` succeeds or throws. For PostgreSQL without `TENDER_TEST_POSTGRES_URL`
    /// the current test is cancelled, not passed silently (`StoreKind.tested` leaves such
    /// cases out to begin with).
    static func with<T: Sendable>(_ kind: StoreKind, _ body: (TestDatabase) async throws -> T) async throws -> T {
        switch kind {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory
                .appendingPathComponent("tender-store-test-\(randomHex())", isDirectory: true)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            return try await body(TestDatabase(kind: .sqlite, location: dir.appendingPathComponent("tender.db").path))

        case .postgres:
            guard let adminURL = postgresURL else {
                try Test.cancel("PostgreSQL case skipped: \(postgresURLVariable) is not set (scripts/test sets it)")
            }
            let name = "tender_test_\(randomHex())"
            let url = try databaseURL(adminURL, database: name)
            try await admin(adminURL) { db in
                try await db.raw("CREATE DATABASE \(unsafeRaw: name)").run()
            }
            let result: Result<T, any Error>
            do {
                result = .success(try await body(TestDatabase(kind: .postgres, location: url)))
            } catch {
                result = .failure(error)
            }
            try await admin(adminURL) { db in
                try await db.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run()
            }
            return try result.get()
        }
    }

    /// Runs `body` on a short-lived connection pool to the admin database.
    private static func admin(_ url: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> Void) async throws {
        let backend = try await PostgresBackend(url: url, logger: logger)
        do {
            try await backend.withDatabase(body)
        } catch {
            await backend.shutdown()
            throw error
        }
        await backend.shutdown()
    }

    /// `url` with its path replaced by `/database` (user, host, port and query kept).
    static func databaseURL(_ url: String, database: String) throws -> String {
        guard var components = URLComponents(string: url) else {
            throw TestDatabaseError("\(postgresURLVariable) is not a URL: \(url)")
        }
        components.path = "/" + database
        guard let result = components.string else {
            throw TestDatabaseError("cannot build a database URL from \(url)")
        }
        return result
    }

    static func randomHex() -> String {
        (0..<8).map { _ in
            let byte = UInt8.random(in: 0...255)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}

struct TestDatabaseError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
