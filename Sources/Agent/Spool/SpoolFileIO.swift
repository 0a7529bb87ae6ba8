#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage

/// Appends to and reads from the spool's output files through file descriptors.
/// FoundationEssentials (all the agent links of Foundation) has no `FileHandle`.
enum SpoolFileIO {
    /// Appends `bytes` to the existing file at `url`.
    static func append(_ bytes: some Collection<UInt8>, to url: URL) throws {
        let fd = try FileDescriptor.open(FilePath(url.path), .writeOnly, options: [.append])
        try fd.closeAfter { _ = try fd.writeAll(bytes) }
    }

    /// At most `maxBytes` from the start of the file; nil when it cannot be read.
    /// - Parameter nonBlocking: open without waiting (a FIFO nobody writes to reads as empty).
    static func prefix(of url: URL, maxBytes: Int, nonBlocking: Bool = false) -> [UInt8]? {
        guard let fd = try? FileDescriptor.open(FilePath(url.path), .readOnly, options: nonBlocking ? [.nonBlocking] : []) else { return nil }
        defer { try? fd.close() }
        var bytes = [UInt8](repeating: 0, count: max(0, maxBytes))
        var filled = 0
        while filled < bytes.count {
            guard let count = try? bytes.withUnsafeMutableBytes({ try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }) else { return nil }
            if count == 0 { break }
            filled += count
        }
        return Array(bytes[..<filled])
    }

    /// Calls `body` with the file's bytes from `offset` on, `chunkSize` at a time,
    /// holding one chunk in memory. Runs on the caller's actor, so `body` may touch its state.
    nonisolated(nonsending) static func readChunks(of url: URL, from offset: Int, chunkSize: Int, _ body: ([UInt8]) async throws -> Void) async throws {
        let fd = try FileDescriptor.open(FilePath(url.path), .readOnly)
        defer { try? fd.close() }
        _ = try fd.seek(offset: Int64(max(0, offset)), from: .start)
        var buffer = [UInt8](repeating: 0, count: max(1, chunkSize))
        while true {
            let count = try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
            if count == 0 { return }
            try await body(Array(buffer[..<count]))
        }
    }
}
