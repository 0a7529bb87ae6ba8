import Foundation
import NIOCore
import NIOWebSocket
import TenderWire

/// A command's `runInvocation` message, encoded once: only the invocation id differs
/// between agents, so a fan-out to ten thousand copies bytes instead of running the
/// JSON encoder ten thousand times.
struct RunMessageTemplate {
    private let prefix: [UInt8]
    private let suffix: [UInt8]

    /// - Parameter variant: the invocation's step variant (nil: the command's own steps).
    init(_ command: CommandRecord, variant: String? = nil) throws {
        let steps = try command.steps(variant: variant)
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

    /// The size in bytes of the message for one instance.
    func size(commandID: String, instanceID: String) -> Int {
        prefix.count + RunInvocation.id(commandID: commandID, instanceID: instanceID).utf8.count + suffix.count
    }

    /// Refuses a command whose message would not fit in one frame to an agent (the
    /// agent would drop its connection on it, again at every resend). A parameter's
    /// value is copied into every `{{ }}` reference, so a small request can resolve
    /// to a large command: this is checked on what is sent, not on the request.
    static func checkFits(_ command: CommandRecord, steps: [ResolvedStep], variant: String? = nil) throws {
        let size = try RunMessageTemplate(command, variant: variant).size(commandID: command.id, instanceID: Identifiers.instancePrefix + String(repeating: "f", count: 17))
        let limit = ChannelProtocol.maxFrameSize
        guard size > limit else { return }
        let encoder = JSON.encoder(pretty: false)
        let largest = steps.map { ($0.name, (try? encoder.encode($0).count) ?? 0) }.max { $0.1 < $1.1 }
        let stepNote = largest.map { " Its largest step, '\($0.0)', is \($0.1) bytes." } ?? ""
        throw TenderError(.tooLarge, "the resolved command is \(size) bytes as sent to an agent, \(size - limit) bytes over the limit of \(limit) bytes for one message.\(stepNote) Each parameter value is copied into every {{ }} reference to it: shorten the values or the document.")
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
