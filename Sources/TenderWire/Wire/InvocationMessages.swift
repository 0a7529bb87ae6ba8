#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Work sent to an agent: the resolved steps of one command for one instance.
/// The id doubles as the agent's spool id, so it is made of safe characters only.
public struct RunInvocation: Codable, Sendable, Equatable {
    public var invocationId: String
    public var commandId: String
    public var documentName: String
    public var steps: [ResolvedStep]

    public init(invocationId: String, commandId: String, documentName: String, steps: [ResolvedStep]) {
        self.invocationId = invocationId
        self.commandId = commandId
        self.documentName = documentName
        self.steps = steps
    }

    /// `<commandId>_<instanceId>`: unique per invocation and valid as a file name.
    public static func id(commandID: String, instanceID: String) -> String { commandID + "_" + instanceID }
}

/// Names one invocation in acknowledgements, start notices, confirmations and cancels.
public struct InvocationRef: Codable, Sendable, Equatable {
    public var invocationId: String
    public init(invocationId: String) { self.invocationId = invocationId }
}

/// The outcome of an invocation, sent by the agent and kept in its spool until the
/// controller answers `resultStored`.
public struct InvocationResult: Codable, Sendable, Equatable {
    public var invocationId: String
    public var status: InvocationStatus
    public var statusDetails: String
    public var responseCode: Int
    /// Inline output, already cut to `OutputLimits`.
    public var stdout: String
    public var stderr: String
    public var startedAt: Date?
    public var endedAt: Date
    /// The full output's sizes; it travels in `invocationOutput` pieces before the
    /// result, and the controller stores the result only once it holds that many
    /// bytes, asking for the rest with `outputWanted`. Absent when the invocation
    /// never ran: then the inline text is all there is.
    public var stdoutSize: Int?
    public var stderrSize: Int?
    /// Structured results of the steps that have one, in step order (nil: none).
    /// Agents older than payloads never send the field; controllers older than
    /// them ignore it.
    public var payloads: [StepPayload]?

    public init(invocationId: String, status: InvocationStatus, statusDetails: String, responseCode: Int, stdout: String, stderr: String, startedAt: Date?, endedAt: Date, stdoutSize: Int? = nil, stderrSize: Int? = nil, payloads: [StepPayload]? = nil) {
        self.payloads = payloads
        self.stdoutSize = stdoutSize
        self.stderrSize = stderrSize
        self.invocationId = invocationId
        self.status = status
        self.statusDetails = statusDetails
        self.responseCode = responseCode
        self.stdout = stdout
        self.stderr = stderr
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}

/// Output so far of a running invocation (cut to the inline limits), sent every few
/// seconds while it changes, so operators can follow long runs.
public struct InvocationProgress: Codable, Sendable, Equatable {
    public var invocationId: String
    public var stdout: String
    public var stderr: String

    public init(invocationId: String, stdout: String, stderr: String) {
        self.invocationId = invocationId
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// A piece of an invocation's full output, at a byte offset of one stream. Any size
/// of output travels this way, in frames well under the channel's limit, and a piece
/// sent twice is harmless (the controller places it by offset).
public struct InvocationOutputChunk: Codable, Sendable, Equatable {
    public static let maxBytes = 256 * 1024

    public var invocationId: String
    /// `stdout` or `stderr`.
    public var stream: String
    public var offset: Int
    /// The bytes, base64.
    public var data: String

    public init(invocationId: String, stream: String, offset: Int, data: String) {
        self.invocationId = invocationId
        self.stream = stream
        self.offset = offset
        self.data = data
    }
}

/// The controller's answer to a result whose output it does not hold in full yet:
/// send both streams again from these offsets, then the result.
public struct OutputWanted: Codable, Sendable, Equatable {
    public var invocationId: String
    public var stdoutOffset: Int
    public var stderrOffset: Int

    public init(invocationId: String, stdoutOffset: Int, stderrOffset: Int) {
        self.invocationId = invocationId
        self.stdoutOffset = stdoutOffset
        self.stderrOffset = stderrOffset
    }
}
