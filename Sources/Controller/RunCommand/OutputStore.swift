import Foundation
import Shared

/// Full command output, kept as files in the data dir (`blobs/output/COMMAND/INSTANCE.stdout`)
/// rather than in table rows: it can be large, and only `command output` reads it.
public struct OutputStore: Sendable {
    public let root: URL

    public init(dataDirectory: URL) {
        self.root = dataDirectory.appendingPathComponent("blobs/output")
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

    /// The most output kept per stream of one invocation; more is refused (disk safety).
    static let maxStreamBytes = 1 << 30

    /// Places a piece of output at `offset` in the stream's partial file and returns
    /// the bytes held so far. A piece already held (a resend) changes nothing; one
    /// beyond a gap is dropped (the agent is asked again from the gap).
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
        guard offset <= held, offset + data.count > held else { return held }
        guard offset + data.count <= Self.maxStreamBytes else {
            throw TenderError(.tooLarge, "output of \(instanceID) is larger than \(Self.maxStreamBytes) bytes")
        }
        try handle.write(contentsOf: data.dropFirst(held - offset))
        return offset + data.count
    }

    /// Bytes held so far in the stream's partial file.
    func partSize(commandID: String, instanceID: String, stream: String) throws -> Int {
        let part = try file(commandID: commandID, instanceID: instanceID, stream: stream).appendingPathExtension("part")
        let attributes = try? FileManager.default.attributesOfItem(atPath: part.path)
        return (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Makes the partial files the invocation's output (an absent one becomes empty).
    func finalize(commandID: String, instanceID: String) throws -> String {
        for stream in ["stdout", "stderr"] {
            let final = try file(commandID: commandID, instanceID: instanceID, stream: stream)
            let part = final.appendingPathExtension("part")
            try SecureFile.makeDirectory(final.deletingLastPathComponent(), mode: 0o700)
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
}
