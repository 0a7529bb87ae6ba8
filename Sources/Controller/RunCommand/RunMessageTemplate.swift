import Foundation
import NIOCore
import NIOWebSocket
import Shared

/// A command's `runInvocation` message, encoded once: only the invocation id differs
/// between agents, so a fan-out to ten thousand copies bytes instead of running the
/// JSON encoder ten thousand times.
struct RunMessageTemplate {
    private let prefix: [UInt8]
    private let suffix: [UInt8]

    init(_ command: CommandRecord) throws {
        let steps = try JSON.decoder().decode([ResolvedStep].self, from: Data(command.stepsJSON.utf8))
        // Unique per template, so no step text can contain it by chance.
        let placeholder = "@@\(UUID().uuidString)@@"
        let data = try ChannelCodec().encode(.runInvocation(RunInvocation(invocationId: placeholder, commandId: command.id,
                                                                          documentName: command.documentName, steps: steps)))
        let bytes = [UInt8](data)
        guard let range = bytes.firstRange(of: Array(placeholder.utf8)) else {
            throw TenderError(.internalError, "could not build the run message of command \(command.id)")
        }
        prefix = Array(bytes[..<range.lowerBound])
        suffix = Array(bytes[range.upperBound...])
    }

    /// The message for one instance. Ids are made of letters, digits, `-` and `_`,
    /// so they need no JSON escaping.
    func frame(commandID: String, instanceID: String, allocator: ByteBufferAllocator) -> WebSocketFrame {
        let id = RunInvocation.id(commandID: commandID, instanceID: instanceID)
        var buffer = allocator.buffer(capacity: prefix.count + id.utf8.count + suffix.count)
        buffer.writeBytes(prefix)
        buffer.writeString(id)
        buffer.writeBytes(suffix)
        return WebSocketFrame(fin: true, opcode: .text, data: buffer)
    }
}
