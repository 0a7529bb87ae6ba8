import Foundation
import TenderAPI
import TenderWire

/// Creates, lists and deletes activations: the one-time credentials admins hand to
/// new servers. Limits follow SSM: 1–1000 registrations, expiry up to 30 days.
public struct ActivationService: Sendable {
    public static let defaultLimit = 1
    public static let maxLimit = 1000
    public static let defaultExpiry = 24 * 3600
    public static let maxExpiry = 30 * 24 * 3600
    public static let codeLength = 24

    let store: any ActivationStore
    let caFingerprint: String

    public init(store: any ActivationStore, caFingerprint: String) {
        self.store = store
        self.caFingerprint = caFingerprint
    }

    public func create(_ request: CreateActivationRequest, now: Date = Date()) async throws -> ActivationInfo {
        let limit = request.registrationLimit ?? Self.defaultLimit
        guard (1...Self.maxLimit).contains(limit) else {
            throw TenderError.validation("registrationLimit must be between 1 and \(Self.maxLimit), got \(limit)")
        }
        let expiry = request.expiresInSeconds ?? Self.defaultExpiry
        guard expiry >= 60, expiry <= Self.maxExpiry else {
            throw TenderError.validation("expiry must be between 1 minute and 30 days, got \(expiry) seconds")
        }
        if let name = request.defaultInstanceName {
            try InstanceService.validateName(name)
        }
        if let description = request.description, description.count > 256 {
            throw TenderError.validation("description is longer than 256 characters")
        }
        let tags = request.tags ?? [:]
        guard tags.count <= Tags.maxTagsPerInstance else {
            throw TenderError.validation("an activation can carry at most \(Tags.maxTagsPerInstance) tags")
        }
        for (key, value) in tags { try Tags.validate(key: key, value: value) }

        let code = Identifiers.randomSecret(length: Self.codeLength)
        let record = ActivationRecord(
            id: Identifiers.newActivationID(),
            codeHash: SecretHash.hash(code),
            registrationLimit: limit,
            registrationsCount: 0,
            expiresAt: now.addingTimeInterval(TimeInterval(expiry)),
            defaultInstanceName: request.defaultInstanceName,
            description: request.description,
            tags: tags,
            createdAt: now,
            deletedAt: nil
        )
        try await store.insertActivation(record)
        return info(record, code: code, now: now)
    }

    public func list(now: Date = Date()) async throws -> [ActivationInfo] {
        try await store.activations().map { info($0, code: nil, now: now) }
    }

    public func get(_ id: String, now: Date = Date()) async throws -> ActivationInfo {
        guard let record = try await store.activation(id: id), record.deletedAt == nil else {
            throw TenderError.notFound("activation \(id) does not exist")
        }
        return info(record, code: nil, now: now)
    }

    public func delete(_ id: String, now: Date = Date()) async throws {
        guard try await store.deleteActivation(id: id, at: now) else {
            throw TenderError.notFound("activation \(id) does not exist")
        }
    }

    func info(_ r: ActivationRecord, code: String?, now: Date) -> ActivationInfo {
        ActivationInfo(
            activationId: r.id, activationCode: code, caFingerprint: caFingerprint, expiresAt: r.expiresAt,
            expired: r.expiresAt <= now, registrationLimit: r.registrationLimit, registrationsCount: r.registrationsCount,
            defaultInstanceName: r.defaultInstanceName, description: r.description, tags: r.tags, createdAt: r.createdAt
        )
    }
}
