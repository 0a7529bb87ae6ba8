import Foundation
import Testing
@testable import Agent

/// A package root is hostile input: its small files are read bounded and without blocking.
@Suite("Package root files")
struct PackageRootTests {
    @Test func smallFilesAreReadHostileOnesAreNot() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tender-root-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("etc"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = PackageRoot(directory.path)
        try "ID=debian\n".write(to: directory.appendingPathComponent("etc/small"), atomically: true, encoding: .utf8)
        #expect(root.read("/etc/small", limit: 64) == "ID=debian\n")
        #expect(root.read("/etc/small", limit: 4) == nil, "over the limit")
        #expect(root.read("/etc/missing", limit: 64) == nil)
        // An endless file: at most limit + 1 bytes are read, then refused.
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("etc/os-release").path, withDestinationPath: "/dev/zero")
        #expect(root.read("/etc/os-release", limit: 64 * 1024) == nil)
        #expect(throws: PatchRunError.self) { try root.operatingSystem() }
        // A FIFO nobody writes to: no wait.
        #expect(mkfifo(directory.appendingPathComponent("etc/fifo").path, 0o600) == 0)
        #expect(root.read("/etc/fifo", limit: 64) == "")
    }
}
