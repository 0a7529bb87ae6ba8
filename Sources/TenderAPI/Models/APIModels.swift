import Foundation
import TenderWire

// The JSON bodies of the operator API (`/v1/...`). The CLI decodes exactly these,
// so a field renamed here is renamed for every script: these names are the product's contract (README, docs/).

public struct CreateActivationRequest: Codable, Sendable {
    public var registrationLimit: Int?
    public var expiresInSeconds: Int?
    public var defaultInstanceName: String?
    public var description: String?
    public var tags: [String: String]?

    public init(registrationLimit: Int? = nil, expiresInSeconds: Int? = nil, defaultInstanceName: String? = nil, description: String? = nil, tags: [String: String]? = nil) {
        self.registrationLimit = registrationLimit
        self.expiresInSeconds = expiresInSeconds
        self.defaultInstanceName = defaultInstanceName
        self.description = description
        self.tags = tags
    }
}

public struct ActivationInfo: Codable, Sendable, Equatable {
    public var activationId: String
    /// Present only in the response that created the activation: the code is stored as a hash.
    public var activationCode: String?
    public var caFingerprint: String
    public var expiresAt: Date
    public var expired: Bool
    public var registrationLimit: Int
    public var registrationsCount: Int
    public var defaultInstanceName: String?
    public var description: String?
    public var tags: [String: String]
    public var createdAt: Date

    public init(activationId: String, activationCode: String?, caFingerprint: String, expiresAt: Date, expired: Bool, registrationLimit: Int, registrationsCount: Int, defaultInstanceName: String?, description: String?, tags: [String: String], createdAt: Date) {
        self.activationId = activationId
        self.activationCode = activationCode
        self.caFingerprint = caFingerprint
        self.expiresAt = expiresAt
        self.expired = expired
        self.registrationLimit = registrationLimit
        self.registrationsCount = registrationsCount
        self.defaultInstanceName = defaultInstanceName
        self.description = description
        self.tags = tags
        self.createdAt = createdAt
    }
}

public enum PingStatus: String, Codable, Sendable {
    case online = "Online"
    case connectionLost = "ConnectionLost"
}

public struct InstanceInfo: Codable, Sendable, Equatable {
    public var instanceId: String
    public var name: String
    public var pingStatus: PingStatus
    public var lastPingAt: Date?
    public var agentVersion: String?
    public var platformName: String?
    public var platformVersion: String?
    public var ipAddress: String?
    public var hostname: String?
    public var tags: [String: String]
    public var activationId: String
    public var registeredAt: Date

    public init(instanceId: String, name: String, pingStatus: PingStatus, lastPingAt: Date?, agentVersion: String?, platformName: String?, platformVersion: String?, ipAddress: String?, hostname: String?, tags: [String: String], activationId: String, registeredAt: Date) {
        self.instanceId = instanceId
        self.name = name
        self.pingStatus = pingStatus
        self.lastPingAt = lastPingAt
        self.agentVersion = agentVersion
        self.platformName = platformName
        self.platformVersion = platformVersion
        self.ipAddress = ipAddress
        self.hostname = hostname
        self.tags = tags
        self.activationId = activationId
        self.registeredAt = registeredAt
    }
}

public struct TagInstanceRequest: Codable, Sendable {
    public var tags: [String: String]
    public init(tags: [String: String]) { self.tags = tags }
}

public struct UntagInstanceRequest: Codable, Sendable {
    public var keys: [String]
    public init(keys: [String]) { self.keys = keys }
}

/// Operator roles. Admin manages tokens; operator changes the fleet; read-only looks.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case readOnly = "read-only"
    case `operator` = "operator"
    case admin = "admin"

    private var rank: Int {
        switch self {
        case .readOnly: return 0
        case .operator: return 1
        case .admin: return 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

public struct CreateTokenRequest: Codable, Sendable {
    public var name: String
    public var role: Role
    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

public struct TokenInfo: Codable, Sendable {
    public var tokenId: String
    public var name: String
    public var role: Role
    /// Only in the response that created it.
    public var token: String?
    public var createdAt: Date
    public var revokedAt: Date?

    public init(tokenId: String, name: String, role: Role, token: String?, createdAt: Date, revokedAt: Date?) {
        self.tokenId = tokenId
        self.name = name
        self.role = role
        self.token = token
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// A short human duration: `90s`, `30m`, `24h`, `7d`.
public enum DurationText {
    public static func seconds(_ text: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let last = trimmed.last else { throw TenderError.validation("duration is empty; use e.g. 30m, 24h or 7d") }
        let (numberText, factor): (Substring, Int) = units[last].map { (trimmed.dropLast(), $0) } ?? (Substring(trimmed), 1)
        guard let number = Int(numberText), number > 0 else {
            throw TenderError.validation("duration '\(text)' is not understood; use e.g. 30m, 24h or 7d")
        }
        let (value, overflow) = number.multipliedReportingOverflow(by: factor)
        guard !overflow else { throw TenderError.validation("duration '\(text)' is too long") }
        return value
    }
}
