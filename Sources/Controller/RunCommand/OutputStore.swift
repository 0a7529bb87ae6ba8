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

    public func read(commandID: String, instanceID: String, stream: String) throws -> Data? {
        try? Data(contentsOf: try file(commandID: commandID, instanceID: instanceID, stream: stream))
    }
}
