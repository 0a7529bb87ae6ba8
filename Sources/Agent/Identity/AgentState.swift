import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire
import X509

/// What an agent keeps in its state dir: who it is, where its controller is, and
/// the key material for mutual TLS. Secrets are written 0600 in a 0700 directory.
public struct AgentIdentity: Codable, Sendable, Equatable {
    public var instanceId: String
    public var controller: String
    public var caFingerprint: String
    public var registeredAt: Date

    public init(instanceId: String, controller: String, caFingerprint: String, registeredAt: Date) {
        self.instanceId = instanceId
        self.controller = controller
        self.caFingerprint = caFingerprint
        self.registeredAt = registeredAt
    }
}

/// The agent's state directory (default `/var/lib/tender-agent`).
public struct AgentStateDirectory: Sendable {
    public static let defaultPath = "/var/lib/tender-agent"
    public let url: URL

    public init(_ path: String) {
        self.url = URL(fileURLWithPath: path)
    }

    var identityFile: URL { url.appendingPathComponent("identity.json") }
    var keyFile: URL { url.appendingPathComponent("agent.key") }
    var certificateFile: URL { url.appendingPathComponent("agent.pem") }
    var caFile: URL { url.appendingPathComponent("ca.pem") }
    var statusFile: URL { url.appendingPathComponent("status.json") }

    public var isRegistered: Bool { FileManager.default.fileExists(atPath: identityFile.path) }

    public func prepare() throws {
        try SecureFile.makeDirectory(url, mode: 0o700)
    }

    public func loadIdentity() throws -> AgentIdentity {
        guard let data = try? Data(contentsOf: identityFile) else {
            throw TenderError(.notRegistered, "this agent is not registered (no \(identityFile.path)); run tender-agent register first")
        }
        return try JSON.decode(AgentIdentity.self, from: data, what: identityFile.path)
    }

    public func loadKey() throws -> P256.Signing.PrivateKey {
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: String(contentsOf: keyFile, encoding: .utf8))
        } catch {
            throw TenderError(.notRegistered, "cannot read the agent key \(keyFile.path): \(error)")
        }
    }

    public func loadCertificate() throws -> Certificate {
        do {
            return try Certificate(pemEncoded: String(contentsOf: certificateFile, encoding: .utf8))
        } catch {
            throw TenderError(.notRegistered, "cannot read the agent certificate \(certificateFile.path): \(error)")
        }
    }

    public func loadCA() throws -> Certificate {
        do {
            return try Certificate(pemEncoded: String(contentsOf: caFile, encoding: .utf8))
        } catch {
            throw TenderError(.notRegistered, "cannot read the pinned CA \(caFile.path): \(error)")
        }
    }

    /// Writes a complete identity. The identity file goes last, so a crash part-way
    /// leaves an agent that is simply not registered rather than half registered.
    func save(identity: AgentIdentity, key: P256.Signing.PrivateKey, certificatePEM: String, caPEM: String) throws {
        try prepare()
        try SecureFile.write(key.pemRepresentation, to: keyFile, mode: 0o600)
        try SecureFile.write(certificatePEM, to: certificateFile, mode: 0o600)
        try SecureFile.write(caPEM, to: caFile, mode: 0o644)
        try SecureFile.write(try JSON.encoder(pretty: true).encode(identity), to: identityFile, mode: 0o600)
    }

    func saveCertificate(_ pem: String) throws {
        try SecureFile.write(pem, to: certificateFile, mode: 0o600)
    }

    /// Removes a previous identity (for `register --force`).
    func clear() throws {
        for file in [identityFile, keyFile, certificateFile, caFile, statusFile] where FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.removeItem(at: file)
        }
    }
}

/// The running agent's view of its connection, written for `tender-agent status`.
public struct AgentStatus: Codable, Sendable {
    public var state: String
    public var since: Date
    public var pid: Int32
    public var lastError: String?

    public init(state: String, since: Date, pid: Int32, lastError: String?) {
        self.state = state
        self.since = since
        self.pid = pid
        self.lastError = lastError
    }
}
