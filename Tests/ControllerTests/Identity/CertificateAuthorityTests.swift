import Crypto
import Foundation
import Logging
import SwiftASN1
import Testing
import X509
@testable import Controller
@testable import TenderWire

@Suite("Certificate authority")
struct CertificateAuthorityTests {
    let logger = Logger(label: "test")

    func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tender-ca-\(Identifiers.randomHex(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func createdOnceAndReused() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
        let second = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
        #expect(first.fingerprint == second.fingerprint)
        #expect(first.fingerprint.hasPrefix("sha256:") && first.fingerprint.count == 71)
        let keyMode = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("ca.key").path)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let constraints = try #require(try first.certificate.extensions.basicConstraints)
        #expect(constraints == .isCertificateAuthority(maxPathLength: 0))
    }

    @Test("a renewal keeps the registered key: a request for another key is refused")
    func renewalKeepsTheRegisteredKey() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ca = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
        let registered = P256.Signing.PrivateKey()
        let id = Identifiers.newInstanceID()
        let current = try ca.issueClientCertificate(csrPEM: try CertificateTools.makeCSR(key: registered, commonName: "tender-agent"), instanceID: id)

        let renewed = try ca.issueClientCertificate(csrPEM: try CertificateTools.makeCSR(key: registered, commonName: "tender-agent"),
                                                    instanceID: id, requiredKey: current.publicKey)
        #expect(renewed.publicKey == current.publicKey)

        let other = try CertificateTools.makeCSR(key: P256.Signing.PrivateKey(), commonName: "tender-agent")
        #expect(throws: TenderError(.forbidden, "a renewal must keep the key the instance registered with; this request carries another key")) {
            try ca.issueClientCertificate(csrPEM: other, instanceID: id, requiredKey: current.publicKey)
        }
    }

    @Test func refusesAHalfPresentCA() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("ca.key"))
        #expect(throws: TenderError.self) { try CertificateAuthority.loadOrCreate(in: dir, logger: logger) }
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ca.pem").path), "the CA certificate must not be replaced")
    }

    @Test func clientCertificatesCarryTheInstanceAndOnlyClientAuth() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ca = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
        let key = P256.Signing.PrivateKey()
        // The CSR asks for a subject of its own choosing; the controller ignores it.
        let csr = try CertificateTools.makeCSR(key: key, commonName: "admin.example.com")
        let id = Identifiers.newInstanceID()
        let cert = try ca.issueClientCertificate(csrPEM: csr, instanceID: id)

        #expect(cert.publicKey == Certificate.PublicKey(key.publicKey))
        #expect(CertificateTools.instanceID(of: cert) == id)
        #expect(cert.subject.description.contains(id))
        #expect(!cert.subject.description.contains("admin.example.com"))
        #expect(cert.issuer == ca.certificate.subject)
        #expect(ca.certificate.publicKey.isValidSignature(cert.signature, for: cert))
        let eku = try #require(try cert.extensions.extendedKeyUsage)
        #expect(Array(eku) == [.clientAuth])
        #expect(try cert.extensions.basicConstraints == .notCertificateAuthority)
        #expect(cert.notValidAfter.timeIntervalSinceNow > 300 * 86400)
    }

    @Test func rejectsBadRequests() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ca = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
        #expect(throws: TenderError.self) { try ca.issueClientCertificate(csrPEM: "not a csr", instanceID: Identifiers.newInstanceID()) }

        // A CSR whose signature was made by a different key than the one it carries.
        let key = P256.Signing.PrivateKey(), other = P256.Signing.PrivateKey()
        let honest = try CertificateSigningRequest(pemEncoded: try CertificateTools.makeCSR(key: key, commonName: "x"))
        let forged = try CertificateSigningRequest(
            version: honest.version, subject: honest.subject, publicKey: Certificate.PublicKey(other.publicKey),
            attributes: honest.attributes, signatureAlgorithm: honest.signatureAlgorithm, signature: honest.signature
        )
        do {
            _ = try ca.issueClientCertificate(csrPEM: try forged.serializeAsPEM().pemString, instanceID: Identifiers.newInstanceID())
            Issue.record("a CSR with a signature from another key must be refused")
        } catch let error as TenderError {
            #expect(error.code == .invalidCSR)
        }
    }

    @Test func serverCertificateCoversItsNamesAndIsReissuedWhenTheyChange() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ca = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
        let first = try ca.serverIdentity(names: ["ctl.example", "127.0.0.1", "::1"], in: dir, logger: logger)
        #expect(Set(CertificateAuthority.names(in: first.chain[0])) == ["ctl.example", "127.0.0.1", "::1"])
        #expect(Array(try #require(try first.chain[0].extensions.extendedKeyUsage)) == [.serverAuth])
        let again = try ca.serverIdentity(names: ["ctl.example", "127.0.0.1", "::1"], in: dir, logger: logger)
        #expect(again.chain[0] == first.chain[0], "unchanged names reuse the certificate")
        let renamed = try ca.serverIdentity(names: ["other.example"], in: dir, logger: logger)
        #expect(CertificateAuthority.names(in: renamed.chain[0]) == ["other.example"])
        #expect(renamed.chain[0].serialNumber != first.chain[0].serialNumber, "changed names must reissue")
        let renamedAgain = try ca.serverIdentity(names: ["other.example"], in: dir, logger: logger)
        #expect(renamedAgain.chain[0] == renamed.chain[0], "the reissued certificate is the one kept")
    }

    @Test("the server certificate is reissued at start once 30 days or less are left, and kept with more")
    func serverCertificateIsReissuedNearItsEnd() throws {
        // docs/architecture.md: 397 days, reissued when under 30 days remain.
        #expect(CertificateAuthority.serverCertificateRenewalMargin == 30 * 86400)
        #expect(CertificateAuthority.serverCertificateValidity == 397 * 86400)
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ca = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
        let names = ["ctl.example", "127.0.0.1"]
        let issuedAt = Date()
        let issued = try ca.serverIdentity(names: names, in: dir, now: issuedAt, logger: logger)
        let end = issued.chain[0].notValidAfter
        #expect(abs(end.timeIntervalSince(issuedAt) - CertificateAuthority.serverCertificateValidity) < 2)
        let margin = CertificateAuthority.serverCertificateRenewalMargin
        let day: TimeInterval = 86400

        // 31 days left: kept (certificate and key).
        let kept = try ca.serverIdentity(names: names, in: dir, now: end.addingTimeInterval(-(margin + day)), logger: logger)
        #expect(kept.chain[0] == issued.chain[0])
        #expect(kept.key.rawRepresentation == issued.key.rawRepresentation)

        // 29 days left: a new certificate and key, valid from then for the full lifetime, and stored.
        let late = end.addingTimeInterval(-(margin - day))
        let reissued = try ca.serverIdentity(names: names, in: dir, now: late, logger: logger)
        #expect(reissued.chain[0].serialNumber != issued.chain[0].serialNumber, "29 days left must reissue")
        #expect(reissued.key.rawRepresentation != issued.key.rawRepresentation)
        #expect(abs(reissued.chain[0].notValidAfter.timeIntervalSince(late) - CertificateAuthority.serverCertificateValidity) < 2)
        #expect(Set(CertificateAuthority.names(in: reissued.chain[0])) == Set(names))
        let next = try ca.serverIdentity(names: names, in: dir, now: late, logger: logger)
        #expect(next.chain[0] == reissued.chain[0], "the reissued certificate is written and used at the next start")
    }
}
