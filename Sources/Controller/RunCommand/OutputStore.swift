import Foundation
import TenderWire

/// Full command output, kept as files in the data dir (`blobs/output/COMMAND/INSTANCE.stdout`)
/// rather than in table rows: it can be large, and only `command output` reads it.
public struct OutputStore: Sendable {
    public let root: URL
    /// The most output kept per stream of one invocation (disk safety). What an agent
    /// sends beyond it is dropped, and the stored output ends with `truncationNote`.
    public let maxStreamBytes: Int
    public static let defaultMaxStreamBytes = 1 << 30

    public init(dataDirectory: URL, maxStreamBytes: Int = OutputStore.defaultMaxStreamBytes) {
        self.root = dataDirectory.appendingPathComponent("blobs/output")
        self.maxStreamBytes = maxStreamBytes
    }

    /// Appended to a stream whose output was larger than the cap.
    static func truncationNote(size: Int, kept: Int) -> String {
        "\n[tender: output truncated by the controller: \(size) bytes, of which the first \(kept) were kept (the limit per stream)]\n"
    }

    /// Paths built only from ids the controller made (command UUIDs and `mi-` ids).
    private func file(commandID: String, instanceID: String, stream: String) throws -> URL {
        guard UUID(uuidString: commandID) != nil, Identifiers.isInstanceID(instanceID), ["stdout", "stderr"].contains(stream) else {
            throw TenderError.validation("no output for command \(commandID.prefix(40)) on \(instanceID.prefix(40))")
        }
        return root.appendingPathComponent(commandID.lowercased()).appendingPathComponent("\(instanceID).\(stream)")
    }

    /// Stores both streams; returns the blob name recorded on the invocation.
    func store(commandID: String, instanceID: String, stdout: Data, stderr: Data) throws -> String {
        let directory = root.appendingPathComponent(commandID.lowercased())
        try SecureFile.makeDirectory(directory, mode: 0o700)
        try SecureFile.write(stdout, to: try file(commandID: commandID, instanceID: instanceID, stream: "stdout"), mode: 0o600)
        try SecureFile.write(stderr, to: try file(commandID: commandID, instanceID: instanceID, stream: "stderr"), mode: 0o600)
        return "\(commandID.lowercased())/\(instanceID)"
    }

    /// Places a piece of output at `offset` in the stream's partial file and returns
    /// the bytes held so far. A piece already held (a resend) changes nothing; one
    /// beyond a gap is dropped (the agent is asked again from the gap); bytes past
    /// `maxStreamBytes` are dropped (the result says how large the stream was).
    func appendChunk(commandID: String, instanceID: String, stream: String, offset: Int, data: Data) throws -> Int {
        let final = try file(commandID: commandID, instanceID: instanceID, stream: stream)
        let part = final.appendingPathExtension("part")
        try SecureFile.makeDirectory(final.deletingLastPathComponent(), mode: 0o700)
        if !FileManager.default.fileExists(atPath: part.path) {
            guard FileManager.default.createFile(atPath: part.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw TenderError(.internalError, "cannot create \(part.path)")
            }
        }
        let handle = try FileHandle(forWritingTo: part)
        defer { try? handle.close() }
        let held = Int(try handle.seekToEnd())
        // `offset` is the agent's word: checked before any arithmetic on it (a huge
        // one must not overflow), and `held` is at most the cap.
        guard offset >= 0, offset <= held else { return held }
        let end = min(offset + data.count, maxStreamBytes)
        guard end > held else { return held }
        try handle.write(contentsOf: data.dropFirst(held - offset).prefix(end - held))
        return end
    }

    /// Removes the partial files of an invocation whose result was stored without them.
    func discardParts(commandID: String, instanceID: String) {
        for stream in ["stdout", "stderr"] {
            guard let part = try? file(commandID: commandID, instanceID: instanceID, stream: stream).appendingPathExtension("part") else { continue }
            try? FileManager.default.removeItem(at: part)
        }
    }

    /// Bytes held so far in the stream's partial file.
    func partSize(commandID: String, instanceID: String, stream: String) throws -> Int {
        let part = try file(commandID: commandID, instanceID: instanceID, stream: stream).appendingPathExtension("part")
        let attributes = try? FileManager.default.attributesOfItem(atPath: part.path)
        return (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Makes the partial files the invocation's output (an absent one becomes empty).
    /// `sizes` are the streams' sizes on the agent: one over the cap gets the note.
    func finalize(commandID: String, instanceID: String, sizes: (stdout: Int, stderr: Int) = (0, 0)) throws -> String {
        for stream in ["stdout", "stderr"] {
            let final = try file(commandID: commandID, instanceID: instanceID, stream: stream)
            let part = final.appendingPathExtension("part")
            try SecureFile.makeDirectory(final.deletingLastPathComponent(), mode: 0o700)
            let size = stream == "stdout" ? sizes.stdout : sizes.stderr
            if size > maxStreamBytes, FileManager.default.fileExists(atPath: part.path) {
                let handle = try FileHandle(forWritingTo: part)
                defer { try? handle.close() }
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(Self.truncationNote(size: size, kept: maxStreamBytes).utf8))
            }
            if FileManager.default.fileExists(atPath: part.path) {
                try? FileManager.default.removeItem(at: final)
                try FileManager.default.moveItem(at: part, to: final)
            } else {
                try SecureFile.write(Data(), to: final, mode: 0o600)
            }
        }
        return "\(commandID.lowercased())/\(instanceID)"
    }

    public func read(commandID: String, instanceID: String, stream: String) throws -> Data? {
        try? Data(contentsOf: try file(commandID: commandID, instanceID: instanceID, stream: stream))
    }

    /// The stored stream's file and size, if the invocation has one.
    func stored(commandID: String, instanceID: String, stream: String) throws -> (URL, Int)? {
        let url = try file(commandID: commandID, instanceID: instanceID, stream: stream)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              let size = (attributes[.size] as? NSNumber)?.intValue else { return nil }
        return (url, size)
    }
}
