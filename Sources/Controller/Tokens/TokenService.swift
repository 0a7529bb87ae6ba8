import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import TenderAPI
import TenderWire

/// Operator API tokens: created with a role, stored as hashes, revocable.
public struct TokenService: Sendable {
    static let tokenPrefix = "tdr_"
    let store: any TokenStore

    public init(store: any TokenStore) {
        self.store = store
    }

    public func create(_ request: CreateTokenRequest, now: Date = Date()) async throws -> TokenInfo {
        let name = request.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 128 else { throw TenderError.validation("token name must be 1 to 128 characters") }
        let secret = Self.tokenPrefix + Identifiers.randomSecret(length: 40)
        let record = TokenRecord(id: "tok-" + Identifiers.randomHex(12), name: name, role: request.role, tokenHash: SecretHash.hash(secret), createdAt: now, revokedAt: nil)
        try await store.insertToken(record)
        return info(record, secret: secret)
    }

    public func list() async throws -> [TokenInfo] {
        try await store.tokens().map { info($0, secret: nil) }
    }

    public func revoke(_ id: String, now: Date = Date()) async throws {
        guard try await store.revokeToken(id: id, at: now) else { throw TenderError.notFound("token \(id) does not exist or is already revoked") }
    }

    /// The role of a presented bearer token, or nil if it is unknown or revoked.
    public func authenticate(_ secret: String) async throws -> TokenRecord? {
        let hash = SecretHash.hash(secret)
        guard let record = try await store.token(hash: hash), record.revokedAt == nil,
              SecretHash.constantTimeEquals(record.tokenHash, hash) else { return nil }
        return record
    }

    /// Makes sure `admin.token` holds a live admin token, and returns it. Written once:
    /// while the file holds a live admin token it is only read (and made owner-only
    /// if someone widened its mode), never rewritten. A new bootstrap token is created
    /// and written (mode 0600) when the file is missing, empty, unreadable, or holds a
    /// token that is revoked, unknown or not admin; an older token is not revoked by that.
    public func ensureAdminToken(file: URL, logger: Logger) async throws -> String {
        if let existing = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           !existing.isEmpty, let record = try await authenticate(existing), record.role == .admin {
            try Self.restrictMode(file, logger: logger)
            return existing
        }
        let replacing = FileManager.default.fileExists(atPath: file.path)
        let created = try await create(CreateTokenRequest(name: "admin (bootstrap)", role: .admin))
        guard let secret = created.token else { throw TenderError(.internalError, "token creation returned no secret") }
        try SecureFile.write(secret + "\n", to: file, mode: 0o600)
        if replacing {
            logger.warning("admin.token held no live admin token (revoked, unknown or not admin); wrote a new one", metadata: ["path": "\(file.path)", "tokenId": "\(created.tokenId)"])
        } else {
            logger.notice("wrote admin API token", metadata: ["path": "\(file.path)", "tokenId": "\(created.tokenId)"])
        }
        return secret
    }

    /// Takes group and other access away from an existing token file without rewriting it.
    static func restrictMode(_ file: URL, logger: Logger) throws {
        var info = stat()
        guard stat(file.path, &info) == 0, info.st_mode & 0o077 != 0 else { return }
        guard chmod(file.path, 0o600) == 0 else {
            throw TenderError(.internalError, "cannot make \(file.path) private (mode 0600): \(String(cString: strerror(errno)))")
        }
        logger.warning("made admin.token private (it was readable by others)", metadata: ["path": "\(file.path)", "was": "\(String(info.st_mode & 0o777, radix: 8))"])
    }

    func info(_ r: TokenRecord, secret: String?) -> TokenInfo {
        TokenInfo(tokenId: r.id, name: r.name, role: r.role, token: secret, createdAt: r.createdAt, revokedAt: r.revokedAt)
    }
}
