import Foundation
import Testing
@testable import Controller

/// The per-stream cap on stored output: bytes past `maxStreamBytes` are dropped,
/// and the stored output says how large the stream really was.
@Suite("OutputStore: the per-stream cap")
struct OutputStoreCapTests {
    let commandID = UUID().uuidString
    let instanceID = "mi-" + String(repeating: "a", count: 17)

    /// An output store with a 1,024-byte cap in a fresh temp dir, removed afterwards.
    func withStore(_ body: (OutputStore) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-output-cap-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(OutputStore(dataDirectory: dir, maxStreamBytes: 1024))
    }

    func bytes(_ count: Int, _ character: Character) -> Data { Data(String(repeating: character, count: count).utf8) }

    @Test("pieces past the cap are cut at it, and nothing beyond is kept")
    func appendStopsAtTheCap() throws {
        try withStore { store in
            func append(_ offset: Int, _ data: Data, stream: String = "stdout") throws -> Int {
                try store.appendChunk(commandID: commandID, instanceID: instanceID, stream: stream, offset: offset, data: data)
            }
            #expect(try append(0, bytes(1000, "a")) == 1000)
            #expect(try append(1000, bytes(1000, "b")) == 1024, "cut at the cap")
            #expect(try append(2000, bytes(500, "c")) == 1024, "past the cap: dropped, no error")
            #expect(try append(1024, bytes(10, "d")) == 1024, "at the cap: dropped")
            #expect(try append(0, bytes(1000, "a")) == 1024, "a resend changes nothing")
            #expect(try store.partSize(commandID: commandID, instanceID: instanceID, stream: "stdout") == 1024)
            // The other stream has its own cap; a piece beyond a gap is dropped.
            #expect(try append(0, bytes(10, "e"), stream: "stderr") == 10)
            #expect(try append(20, bytes(5, "f"), stream: "stderr") == 10)

            _ = try store.finalize(commandID: commandID, instanceID: instanceID, sizes: (2000, 10))
            let stdout = try #require(try store.read(commandID: commandID, instanceID: instanceID, stream: "stdout"))
            let note = "\n[tender: output truncated by the controller: 2000 bytes, of which the first 1024 were kept (the limit per stream)]\n"
            #expect(stdout == bytes(1000, "a") + bytes(24, "b") + Data(note.utf8))
            #expect(try store.read(commandID: commandID, instanceID: instanceID, stream: "stderr") == bytes(10, "e"), "under the cap: no note")
        }
    }

    @Test("a stream of exactly the cap is kept whole, without a note")
    func exactlyTheCap() throws {
        try withStore { store in
            #expect(try store.appendChunk(commandID: commandID, instanceID: instanceID, stream: "stdout", offset: 0, data: bytes(1024, "x")) == 1024)
            _ = try store.finalize(commandID: commandID, instanceID: instanceID, sizes: (1024, 0))
            #expect(try store.read(commandID: commandID, instanceID: instanceID, stream: "stdout") == bytes(1024, "x"))
            #expect(try store.read(commandID: commandID, instanceID: instanceID, stream: "stderr") == Data())
        }
    }
}
