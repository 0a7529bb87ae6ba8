import Foundation
import Logging
import Testing
@testable import Controller
@testable import TenderWire

#if canImport(Glibc)
import Glibc
#endif

@Suite("admin.token")
struct AdminTokenTests {
    /// A migrated SQLite store and an admin.token path in a fresh temp dir.
    static func withTokens(_ body: (TokenService, URL) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-token-\(Identifiers.randomHex(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("t.db").path, logger: Logger(label: "test"))
        do {
            try await store.migrate()
            try await body(TokenService(store: store), dir.appendingPathComponent("admin.token"))
        } catch {
            await store.shutdown()
            try? FileManager.default.removeItem(at: dir)
            throw error
        }
        await store.shutdown()
        try? FileManager.default.removeItem(at: dir)
    }

    struct FileState: Equatable {
        let inode: UInt
        let mode: UInt32
        let modified: timespec
        let text: String

        static func == (a: FileState, b: FileState) -> Bool {
            a.inode == b.inode && a.mode == b.mode && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec && a.text == b.text
        }
    }

    static func state(_ file: URL) throws -> FileState {
        var info = stat()
        guard stat(file.path, &info) == 0 else { throw TenderError(.internalError, "no \(file.path)") }
        return FileState(inode: UInt(info.st_ino), mode: UInt32(info.st_mode & 0o777), modified: info.st_mtim,
                         text: try String(contentsOf: file, encoding: .utf8))
    }

    let logger = Logger(label: "test")

    @Test func writtenOnceWithMode0600AndThenOnlyRead() async throws {
        try await Self.withTokens { tokens, file in
            let first = try await tokens.ensureAdminToken(file: file, logger: logger)
            let created = try Self.state(file)
            #expect(created.mode == 0o600)
            #expect(created.text == first + "\n")
            #expect(try await tokens.authenticate(first)?.role == .admin)

            // Later starts: the same token, the same file (inode, mtime, bytes).
            try await Task.sleep(for: .milliseconds(20))
            for _ in 0..<3 {
                #expect(try await tokens.ensureAdminToken(file: file, logger: logger) == first)
                #expect(try Self.state(file) == created)
            }
            #expect(try await tokens.list().count == 1, "no extra tokens minted by restarts")
        }
    }

    @Test func aWidenedFileIsMadePrivateWithoutRewriting() async throws {
        try await Self.withTokens { tokens, file in
            let first = try await tokens.ensureAdminToken(file: file, logger: logger)
            chmod(file.path, 0o644)
            let widened = try Self.state(file)
            #expect(try await tokens.ensureAdminToken(file: file, logger: logger) == first)
            let after = try Self.state(file)
            #expect(after.mode == 0o600)
            #expect(after.inode == widened.inode && after.text == widened.text)
        }
    }

    @Test func aRevokedOrDeletedTokenIsReplaced() async throws {
        try await Self.withTokens { tokens, file in
            let first = try await tokens.ensureAdminToken(file: file, logger: logger)
            let record = try #require(try await tokens.authenticate(first))
            try await tokens.revoke(record.id)
            let second = try await tokens.ensureAdminToken(file: file, logger: logger)
            #expect(second != first)
            #expect(try await tokens.authenticate(second)?.role == .admin)
            #expect(try Self.state(file).mode == 0o600)
            #expect(try Self.state(file).text == second + "\n")

            try FileManager.default.removeItem(at: file)
            let third = try await tokens.ensureAdminToken(file: file, logger: logger)
            #expect(third != second)
            #expect(try Self.state(file).mode == 0o600)
            // Deleting the file does not revoke the token it held.
            #expect(try await tokens.authenticate(second) != nil)
        }
    }
}
