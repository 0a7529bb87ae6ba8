import Foundation
import Logging
import Testing
@testable import Controller
@testable import TenderWire

#if canImport(Glibc)
import Glibc
#endif

@Suite("SQLite file mode")
struct DatabaseFileModeTests {
    static func mode(_ path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode & 0o777)
    }

    static func withDir(_ body: (URL) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-dbmode-\(Identifiers.randomHex(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await body(dir)
    }

    /// Writes a row so the WAL and its index exist, and returns the three files' modes.
    static func openAndWrite(_ path: String) async throws -> [String: UInt32?] {
        let store = try await SQLStore.sqlite(path: path, logger: Logger(label: "test"))
        do {
            try await store.migrate()
            try await store.insertToken(TokenRecord(id: "tok-" + Identifiers.randomHex(6), name: "t", role: .admin,
                                                    tokenHash: SecretHash.hash(Identifiers.randomHex(8)), createdAt: Date(), revokedAt: nil))
        } catch {
            await store.shutdown()
            throw error
        }
        let modes = [path: mode(path), path + "-wal": mode(path + "-wal"), path + "-shm": mode(path + "-shm")]
        await store.shutdown()
        return modes
    }

    @Test func aNewDatabaseAndItsWALAreOwnerOnly() async throws {
        try await Self.withDir { dir in
            // (The umask is left alone: it is the whole process's, shared with parallel tests.)
            let path = dir.appendingPathComponent("tender.db").path
            let modes = try await Self.openAndWrite(path)
            for (file, mode) in modes {
                #expect(mode == 0o600, "\(file): \(mode.map { String($0, radix: 8) } ?? "missing")")
            }
        }
    }

    @Test func anExistingWideDatabaseIsTightened() async throws {
        try await Self.withDir { dir in
            let path = dir.appendingPathComponent("tender.db").path
            _ = try await Self.openAndWrite(path)
            // As an older controller (or a careless copy) left them.
            for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
                chmod(file, 0o644)
            }
            let modes = try await Self.openAndWrite(path)
            for (file, mode) in modes {
                #expect(mode == 0o600, "\(file): \(mode.map { String($0, radix: 8) } ?? "missing")")
            }
        }
    }
}
