import Foundation
import TenderDocuments
import TenderWire

/// `POST /v1/commands`.
public struct SendCommandRequest: Codable, Sendable {
    public var documentName: String
    /// A version of a custom document; the latest when absent.
    public var documentVersion: Int?
    public var parameters: ParameterValues?
    /// Target expressions (`ids=…`, `tag:K=V`, `tag-key=K`, `*`), all of which must match.
    public var targets: [String]
    /// A count or a percentage (default `defaultMaxConcurrency`).
    public var maxConcurrency: String?
    /// A count or a percentage (default `defaultMaxErrors`).
    public var maxErrors: String?
    /// Delivery timeout in seconds (default `defaultTimeoutSeconds`, within `timeoutRange`).
    public var timeoutSeconds: Int?
    public var comment: String?

    /// What a send that does not say gets, as in SSM: the one copy, applied by the
    /// controller and shown by the CLI's help.
    public static let defaultMaxConcurrency = "50"
    public static let defaultMaxErrors = "0"
    public static let defaultTimeoutSeconds = 600
    /// The delivery timeouts accepted: 30 s to 30 days.
    public static let timeoutRange = 30...2_592_000

    public init(documentName: String, documentVersion: Int? = nil, parameters: ParameterValues? = nil, targets: [String], maxConcurrency: String? = nil, maxErrors: String? = nil, timeoutSeconds: Int? = nil, comment: String? = nil) {
        self.documentName = documentName
        self.documentVersion = documentVersion
        self.parameters = parameters
        self.targets = targets
        self.maxConcurrency = maxConcurrency
        self.maxErrors = maxErrors
        self.timeoutSeconds = timeoutSeconds
        self.comment = comment
    }
}

public struct InvocationInfo: Codable, Sendable, Equatable {
    public var instanceId: String
    public var status: InvocationStatus
    public var statusDetails: String
    public var responseCode: Int?
    public var stdout: String
    public var stderr: String
    public var startedAt: Date?
    public var endedAt: Date?
    /// The structured results its steps reported (a patch scan's package states),
    /// in step order; absent when none did.
    public var payloads: [StepPayload]?

    public init(instanceId: String, status: InvocationStatus, statusDetails: String, responseCode: Int?, stdout: String, stderr: String, startedAt: Date?, endedAt: Date?, payloads: [StepPayload]? = nil) {
        self.payloads = payloads
        self.instanceId = instanceId
        self.status = status
        self.statusDetails = statusDetails
        self.responseCode = responseCode
        self.stdout = stdout
        self.stderr = stderr
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}

public struct CommandInfo: Codable, Sendable, Equatable {
    public var commandId: String
    public var documentName: String
    public var documentVersion: Int
    public var status: CommandStatus
    public var statusDetails: String
    public var targetCount: Int
    public var completedCount: Int
    public var errorCount: Int
    public var deliveryTimedOutCount: Int
    public var maxConcurrency: String
    public var maxErrors: String
    public var timeoutSeconds: Int
    public var comment: String?
    public var createdAt: Date
    public var finishedAt: Date?
    /// In `show` (and `send`), not in `list`.
    public var invocations: [InvocationInfo]?

    public init(commandId: String, documentName: String, documentVersion: Int, status: CommandStatus, statusDetails: String, targetCount: Int, completedCount: Int, errorCount: Int, deliveryTimedOutCount: Int, maxConcurrency: String, maxErrors: String, timeoutSeconds: Int, comment: String?, createdAt: Date, finishedAt: Date?, invocations: [InvocationInfo]?) {
        self.commandId = commandId
        self.documentName = documentName
        self.documentVersion = documentVersion
        self.status = status
        self.statusDetails = statusDetails
        self.targetCount = targetCount
        self.completedCount = completedCount
        self.errorCount = errorCount
        self.deliveryTimedOutCount = deliveryTimedOutCount
        self.maxConcurrency = maxConcurrency
        self.maxErrors = maxErrors
        self.timeoutSeconds = timeoutSeconds
        self.comment = comment
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.invocations = invocations
    }
}

/// One status change, from `GET /v1/events?since=SEQ`.
public struct EventInfo: Codable, Sendable, Equatable {
    public var seq: Int
    public var at: Date
    public var commandId: String
    public var instanceId: String?
    public var status: String
    public var statusDetails: String

    public init(seq: Int, at: Date, commandId: String, instanceId: String?, status: String, statusDetails: String) {
        self.seq = seq
        self.at = at
        self.commandId = commandId
        self.instanceId = instanceId
        self.status = status
        self.statusDetails = statusDetails
    }
}
