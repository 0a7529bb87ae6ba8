import Foundation

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
    /// The most full output an agent sends with a result (the rest is cut with a note);
    /// base64 keeps any bytes intact and the frame under the channel's 1 MiB limit.
    public static let maxFullOutputBytes = 600 * 1024

    public var invocationId: String
    public var status: InvocationStatus
    public var statusDetails: String
    public var responseCode: Int
    /// Inline output, already cut to `OutputLimits`.
    public var stdout: String
    public var stderr: String
    /// The full output, base64.
    public var fullStdout: String?
    public var fullStderr: String?
    public var startedAt: Date?
    public var endedAt: Date

    public init(invocationId: String, status: InvocationStatus, statusDetails: String, responseCode: Int, stdout: String, stderr: String, fullStdout: String?, fullStderr: String?, startedAt: Date?, endedAt: Date) {
        self.invocationId = invocationId
        self.status = status
        self.statusDetails = statusDetails
        self.responseCode = responseCode
        self.stdout = stdout
        self.stderr = stderr
        self.fullStdout = fullStdout
        self.fullStderr = fullStderr
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
