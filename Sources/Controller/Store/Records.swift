import Foundation
import Shared

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

    public init(id: String, name: String, activationID: String, registeredAt: Date, state: InstanceState = .active, deregisteredAt: Date? = nil, certificateSerial: String, previousCertificateSerial: String? = nil, certificateNotAfter: Date, pingStatus: PingStatus = .connectionLost, lastPingAt: Date? = nil, agentVersion: String? = nil, platformName: String? = nil, platformVersion: String? = nil, hostname: String? = nil, ipAddress: String? = nil, tags: [String: String] = [:]) {
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

    public init(agentVersion: String, platformName: String, platformVersion: String, hostname: String, ipAddress: String?) {
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
