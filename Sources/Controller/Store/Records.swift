import Foundation
import TenderAPI
import TenderWire

/// An activation as stored. The code itself is never stored, only its hash.
public struct ActivationRecord: Sendable, Equatable {
    public var id: String
    public var codeHash: String
    public var registrationLimit: Int
    public var registrationsCount: Int
    public var expiresAt: Date
    public var defaultInstanceName: String?
    public var description: String?
    public var tags: [String: String]
    public var createdAt: Date
    /// Deleted activations are kept as tombstones so a late registration attempt
    /// can be told "deleted" rather than "unknown".
    public var deletedAt: Date?

    public init(id: String, codeHash: String, registrationLimit: Int, registrationsCount: Int, expiresAt: Date, defaultInstanceName: String?, description: String?, tags: [String: String], createdAt: Date, deletedAt: Date?) {
        self.id = id
        self.codeHash = codeHash
        self.registrationLimit = registrationLimit
        self.registrationsCount = registrationsCount
        self.expiresAt = expiresAt
        self.defaultInstanceName = defaultInstanceName
        self.description = description
        self.tags = tags
        self.createdAt = createdAt
        self.deletedAt = deletedAt
    }
}

public enum InstanceState: String, Sendable {
    case active
    case deregistered
}

/// A managed instance as stored.
public struct InstanceRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var activationID: String
    public var registeredAt: Date
    public var state: InstanceState
    public var deregisteredAt: Date?
    public var certificateSerial: String
    /// The serial before the last renewal, still accepted until the agent uses the new one.
    public var previousCertificateSerial: String?
    public var certificateNotAfter: Date
    public var pingStatus: PingStatus
    public var lastPingAt: Date?
    public var agentVersion: String?
    public var platformName: String?
    public var platformVersion: String?
    public var hostname: String?
    public var ipAddress: String?
    public var tags: [String: String]
    /// os-release `ID` and `ID_LIKE` of the system its agent patches (nil: not reported).
    public var platformID: String?
    public var platformIDLike: String?

    public init(id: String, name: String, activationID: String, registeredAt: Date, state: InstanceState = .active, deregisteredAt: Date? = nil, certificateSerial: String, previousCertificateSerial: String? = nil, certificateNotAfter: Date, pingStatus: PingStatus = .connectionLost, lastPingAt: Date? = nil, agentVersion: String? = nil, platformName: String? = nil, platformVersion: String? = nil, hostname: String? = nil, ipAddress: String? = nil, tags: [String: String] = [:], platformID: String? = nil, platformIDLike: String? = nil) {
        self.platformID = platformID
        self.platformIDLike = platformIDLike
        self.id = id
        self.name = name
        self.activationID = activationID
        self.registeredAt = registeredAt
        self.state = state
        self.deregisteredAt = deregisteredAt
        self.certificateSerial = certificateSerial
        self.previousCertificateSerial = previousCertificateSerial
        self.certificateNotAfter = certificateNotAfter
        self.pingStatus = pingStatus
        self.lastPingAt = lastPingAt
        self.agentVersion = agentVersion
        self.platformName = platformName
        self.platformVersion = platformVersion
        self.hostname = hostname
        self.ipAddress = ipAddress
        self.tags = tags
    }
}

/// What an agent reported in its hello, stored on the instance.
public struct AgentReport: Sendable, Equatable {
    public var agentVersion: String
    public var platformName: String
    public var platformVersion: String
    public var hostname: String
    public var ipAddress: String?
    /// os-release `ID` and `ID_LIKE` of the system the agent patches.
    public var platformID: String?
    public var platformIDLike: String?

    public init(agentVersion: String, platformName: String, platformVersion: String, hostname: String, ipAddress: String?, platformID: String? = nil, platformIDLike: String? = nil) {
        self.platformID = platformID
        self.platformIDLike = platformIDLike
        self.agentVersion = agentVersion
        self.platformName = platformName
        self.platformVersion = platformVersion
        self.hostname = hostname
        self.ipAddress = ipAddress
    }
}

/// An operator API token as stored (hash only).
public struct TokenRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: Role
    public var tokenHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, name: String, role: Role, tokenHash: String, createdAt: Date, revokedAt: Date?) {
        self.id = id
        self.name = name
        self.role = role
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// One version of a custom command document. Versions are never changed or removed,
/// so a command can always show the exact document it ran; deletion hides the name.
public struct DocumentRecord: Sendable, Equatable {
    public var name: String
    public var version: Int
    /// The document as canonical JSON.
    public var content: String
    public var createdAt: Date
    public var deletedAt: Date?

    public init(name: String, version: Int, content: String, createdAt: Date, deletedAt: Date? = nil) {
        self.name = name
        self.version = version
        self.content = content
        self.createdAt = createdAt
        self.deletedAt = deletedAt
    }
}

/// A delivery as stored: what to run (the resolved steps, so a later document update
/// cannot change it), where, and how fast; plus its aggregate status. Most are Run
/// Command requests (`owner` `.runCommand`); another capability's deliveries carry
/// its own owner, are sent by the same mechanism under its policy, and never show
/// as commands.
public struct CommandRecord: Sendable, Equatable {
    public var id: String
    /// Whose delivery this is, which decides its `DeliveryPolicy`.
    public var owner: DeliveryOwner
    public var documentName: String
    /// 0 for a built-in document.
    public var documentVersion: Int
    public var parametersJSON: String
    public var targetsJSON: String
    public var stepsJSON: String
    /// Steps that differ per instance (a patch run's baseline): variant name → steps,
    /// as JSON; an invocation with a `variant` is sent those instead of `stepsJSON`.
    public var variantsJSON: String?
    public var maxConcurrency: RateLimit
    public var maxErrors: RateLimit
    public var deliveryTimeoutSeconds: Int
    public var comment: String?
    public var createdAt: Date
    public var createdBy: String?
    public var cancelRequestedAt: Date?
    public var status: CommandStatus
    public var statusDetails: String
    public var targetCount: Int
    public var completedCount: Int
    public var errorCount: Int
    public var deliveryTimedOutCount: Int
    public var finishedAt: Date?

    public init(id: String, documentName: String, documentVersion: Int, parametersJSON: String, targetsJSON: String, stepsJSON: String, maxConcurrency: RateLimit, maxErrors: RateLimit, deliveryTimeoutSeconds: Int, comment: String?, createdAt: Date, createdBy: String?, cancelRequestedAt: Date? = nil, status: CommandStatus = .pending, statusDetails: String = StatusDetails.pending, targetCount: Int, completedCount: Int = 0, errorCount: Int = 0, deliveryTimedOutCount: Int = 0, finishedAt: Date? = nil, owner: DeliveryOwner = .runCommand, variantsJSON: String? = nil) {
        self.id = id
        self.owner = owner
        self.variantsJSON = variantsJSON
        self.documentName = documentName
        self.documentVersion = documentVersion
        self.parametersJSON = parametersJSON
        self.targetsJSON = targetsJSON
        self.stepsJSON = stepsJSON
        self.maxConcurrency = maxConcurrency
        self.maxErrors = maxErrors
        self.deliveryTimeoutSeconds = deliveryTimeoutSeconds
        self.comment = comment
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.cancelRequestedAt = cancelRequestedAt
        self.status = status
        self.statusDetails = statusDetails
        self.targetCount = targetCount
        self.completedCount = completedCount
        self.errorCount = errorCount
        self.deliveryTimedOutCount = deliveryTimedOutCount
        self.finishedAt = finishedAt
    }
}

extension CommandRecord {
    /// The steps an invocation of `variant` runs (nil: the command's own).
    public func steps(variant: String?) throws -> [ResolvedStep] {
        guard let variant else {
            return try JSON.decoder().decode([ResolvedStep].self, from: Data(stepsJSON.utf8))
        }
        let variants = try JSON.decoder().decode([String: [ResolvedStep]].self, from: Data((variantsJSON ?? "{}").utf8))
        guard let steps = variants[variant] else {
            throw TenderError(.internalError, "command \(id) has no step variant '\(variant)'")
        }
        return steps
    }
}

/// One command on one instance.
public struct InvocationRecord: Sendable, Equatable {
    public var commandID: String
    public var instanceID: String
    /// Order among the command's targets: the dispatcher sends in this order.
    public var position: Int
    public var status: InvocationStatus
    public var statusDetails: String
    public var responseCode: Int?
    /// Inline output, already cut to the inline limits.
    public var stdout: String
    public var stderr: String
    /// Where the full output is kept (a blob in the data dir), once stored.
    public var outputBlob: String?
    /// The structured results its steps reported, in step order (empty: none).
    public var payloads: [StepPayload] = []
    public var attempts: Int
    public var sentAt: Date?
    /// The replica that last sent it (`Dispatcher.replicaID`).
    public var sentBy: String?
    public var startedAt: Date?
    public var endedAt: Date?
    public var updatedAt: Date
    /// Which of the command's step variants it runs (nil: the command's own steps).
    public var variant: String?

    public init(commandID: String, instanceID: String, position: Int, status: InvocationStatus = .pending, statusDetails: String = StatusDetails.pending, responseCode: Int? = nil, stdout: String = "", stderr: String = "", outputBlob: String? = nil, payloads: [StepPayload] = [], attempts: Int = 0, sentAt: Date? = nil, sentBy: String? = nil, startedAt: Date? = nil, endedAt: Date? = nil, updatedAt: Date, variant: String? = nil) {
        self.variant = variant
        self.payloads = payloads
        self.sentBy = sentBy
        self.commandID = commandID
        self.instanceID = instanceID
        self.position = position
        self.status = status
        self.statusDetails = statusDetails
        self.responseCode = responseCode
        self.stdout = stdout
        self.stderr = stderr
        self.outputBlob = outputBlob
        self.attempts = attempts
        self.sentAt = sentAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.updatedAt = updatedAt
    }
}

/// What the dispatcher needs of an invocation for a pass: a few columns, so a pass
/// over a ten-thousand-target command reads and decodes little.
public struct InvocationState: Sendable, Equatable {
    public var commandID: String
    public var instanceID: String
    public var status: InvocationStatus
    public var statusDetails: String
    public var sentAt: Date?
    /// The replica that last sent it; nil if none did, or before replicas were recorded.
    public var sentBy: String?
    public var startedAt: Date?
    /// Which step variant it is sent (nil: the command's own steps).
    public var variant: String?

    public init(commandID: String, instanceID: String, status: InvocationStatus, statusDetails: String, sentAt: Date?, sentBy: String? = nil, startedAt: Date?, variant: String? = nil) {
        self.variant = variant
        self.sentBy = sentBy
        self.commandID = commandID
        self.instanceID = instanceID
        self.status = status
        self.statusDetails = statusDetails
        self.sentAt = sentAt
        self.startedAt = startedAt
    }

    public init(_ record: InvocationRecord) {
        self.init(commandID: record.commandID, instanceID: record.instanceID, status: record.status, statusDetails: record.statusDetails,
                  sentAt: record.sentAt, sentBy: record.sentBy, startedAt: record.startedAt, variant: record.variant)
    }
}

/// One invocation's transition, for batched writes.
public struct InvocationUpdate: Sendable, Equatable {
    public var commandID: String
    public var instanceID: String
    public var transition: InvocationTransition

    public init(commandID: String, instanceID: String, transition: InvocationTransition) {
        self.commandID = commandID
        self.instanceID = instanceID
        self.transition = transition
    }
}

/// A change of an invocation, applied only if the invocation is still in one of
/// `from`: the guard that makes every result count once, whatever arrives twice.
public struct InvocationTransition: Sendable, Equatable {
    public var from: Set<InvocationStatus>
    public var to: InvocationStatus
    public var details: String
    public var responseCode: Int?
    public var stdout: String?
    public var stderr: String?
    public var outputBlob: String?
    /// The steps' structured results, set with the result that carries them.
    public var payloads: [StepPayload]?
    public var countAttempt: Bool
    public var sentAt: Date?
    /// Set with `sentAt`: the replica sending it.
    public var sentBy: String?
    public var startedAt: Date?
    public var endedAt: Date?

    /// Which columns a transition sets and from which statuses: transitions of one
    /// shape can be written together in one statement.
    struct Shape: Hashable {
        var from: Set<InvocationStatus>
        /// As `TransitionColumns` lists them, so grouping follows the one definition.
        var columns: [String]
    }

    var shape: Shape {
        Shape(from: from, columns: TransitionColumns(self).columns.map(\.name))
    }

    public init(from: Set<InvocationStatus>, to: InvocationStatus, details: String, responseCode: Int? = nil, stdout: String? = nil, stderr: String? = nil, outputBlob: String? = nil, payloads: [StepPayload]? = nil, countAttempt: Bool = false, sentAt: Date? = nil, sentBy: String? = nil, startedAt: Date? = nil, endedAt: Date? = nil) {
        self.payloads = payloads
        self.sentBy = sentBy
        self.from = from
        self.to = to
        self.details = details
        self.responseCode = responseCode
        self.stdout = stdout
        self.stderr = stderr
        self.outputBlob = outputBlob
        self.countAttempt = countAttempt
        self.sentAt = sentAt
        self.startedAt = startedAt
        self.endedAt = endedAt
    }
}

/// A status change of a command or an invocation, in the order they happened.
public struct EventRecord: Sendable, Equatable {
    public var seq: Int
    public var at: Date
    public var commandID: String
    /// nil for a change of the command itself.
    public var instanceID: String?
    public var status: String
    public var statusDetails: String

    public init(seq: Int, at: Date, commandID: String, instanceID: String?, status: String, statusDetails: String) {
        self.seq = seq
        self.at = at
        self.commandID = commandID
        self.instanceID = instanceID
        self.status = status
        self.statusDetails = statusDetails
    }
}
