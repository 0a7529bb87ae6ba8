import Crypto
import Foundation
import Logging
import NIOSSL
import TenderWire
import SwiftASN1
import X509

#if canImport(Glibc)
import Glibc
#endif

/// The fleet CA: it signs the controller's server certificate and every agent's
/// client certificate. Created on first start in the data dir and reused after,
/// so agents registered once keep trusting the controller across restarts.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey
    public let fingerprint: String

    /// The default lifetime of a client certificate; agents renew over the channel
    /// once a third of it is left.
    public static let defaultClientCertificateValidity: TimeInterval = 365 * 86400
    /// How long the client certificates this CA issues are valid.
    public var clientCertificateValidity: TimeInterval = defaultClientCertificateValidity

    init(certificate: Certificate, key: P256.Signing.PrivateKey) throws {
        self.certificate = certificate
        self.key = key
        self.fingerprint = try CertificateTools.fingerprint(certificate)
    }

    /// Loads `ca.pem`/`ca.key` from `directory`, creating them if neither exists.
    /// A half-present pair is an error rather than silently replaced: replacing the CA
    /// would orphan every registered agent.
    public static func loadOrCreate(in directory: URL, logger: Logger) throws -> CertificateAuthority {
        let certURL = directory.appendingPathComponent("ca.pem")
        let keyURL = directory.appendingPathComponent("ca.key")
        let fm = FileManager.default
        switch (fm.fileExists(atPath: certURL.path), fm.fileExists(atPath: keyURL.path)) {
        case (true, true):
            let cert = try Certificate(pemEncoded: String(contentsOf: certURL, encoding: .utf8))
            let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOf: keyURL, encoding: .utf8))
            guard cert.publicKey == Certificate.PublicKey(key.publicKey) else {
                throw TenderError(.internalError, "\(keyURL.path) does not belong to \(certURL.path)")
            }
            return try CertificateAuthority(certificate: cert, key: key)
        case (false, false):
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName {
                OrganizationName("Tender")
                CommonName("Tender fleet CA \(Identifiers.randomHex(8))")
            }
            let now = Date()
            let cert = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-3600),
                notValidAfter: now.addingTimeInterval(20 * 365 * 86400),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: .init(key.publicKey))
                },
                issuerPrivateKey: .init(key)
            )
            try SecureFile.write(key.pemRepresentation, to: keyURL, mode: 0o600)
            try SecureFile.write(CertificateTools.pem(cert), to: certURL, mode: 0o644)
            let ca = try CertificateAuthority(certificate: cert, key: key)
            logger.notice("created fleet CA", metadata: ["path": "\(certURL.path)", "fingerprint": "\(ca.fingerprint)"])
            return ca
        case (true, false):
            throw TenderError(.internalError, "\(certURL.path) exists but its key \(keyURL.path) is missing; restore it from backup")
        case (false, true):
            throw TenderError(.internalError, "\(keyURL.path) exists but \(certURL.path) is missing; restore it from backup")
        }
    }

    /// Lifetime of the controller's server certificate: 397 days, the most browsers and
    /// most TLS clients accept.
    public static let serverCertificateValidity: TimeInterval = 397 * 86400
    /// A server certificate with this little left is reissued at start (a controller that
    /// runs for weeks without a restart must not reach the end of it).
    public static let serverCertificateRenewalMargin: TimeInterval = 30 * 86400

    /// The server certificate for the given names, reusing `server.pem` while it still
    /// covers them and has more than `serverCertificateRenewalMargin` left at `now`.
    public func serverIdentity(names: [String], in directory: URL, now: Date = Date(), logger: Logger) throws -> (chain: [Certificate], key: P256.Signing.PrivateKey) {
        let certURL = directory.appendingPathComponent("server.pem")
        let keyURL = directory.appendingPathComponent("server.key")
        if let pem = try? String(contentsOf: certURL, encoding: .utf8),
           let keyPEM = try? String(contentsOf: keyURL, encoding: .utf8),
           let cert = try? Certificate(pemEncoded: pem),
           let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM),
           cert.issuer == certificate.subject,
           certificate.publicKey.isValidSignature(cert.signature, for: cert),
           cert.notValidAfter > now.addingTimeInterval(Self.serverCertificateRenewalMargin),
           Set(Self.names(in: cert)) == Set(names) {
            return ([cert], key)
        }
        let key = P256.Signing.PrivateKey()
        var sans: [GeneralName] = []
        for name in names {
            if let bytes = IPAddressBytes.parse(name) {
                sans.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))))
            } else {
                sans.append(.dnsName(name))
            }
        }
        let cert = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(Self.serverCertificateValidity),
            issuer: certificate.subject,
            subject: try DistinguishedName { CommonName(names.first ?? "tender-controller") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(sans)
            },
            issuerPrivateKey: .init(self.key)
        )
        try SecureFile.write(key.pemRepresentation, to: keyURL, mode: 0o600)
        try SecureFile.write(CertificateTools.pem(cert), to: certURL, mode: 0o644)
        logger.notice("issued server certificate", metadata: ["names": "\(names.joined(separator: ","))", "path": "\(certURL.path)"])
        return ([cert], key)
    }

    static func names(in cert: Certificate) -> [String] {
        guard let sans = try? cert.extensions.subjectAlternativeNames else { return [] }
        return sans.compactMap { name in
            switch name {
            case .dnsName(let dns): return dns
            case .ipAddress(let octets): return IPAddressBytes.format(Array(octets.bytes))
            default: return nil
            }
        }
    }

    /// Checks a PEM CSR's self-signature and issues a client certificate for `instanceID`.
    /// The subject and extensions are the controller's choice; only the public key is
    /// taken from the request.
    /// - Parameter requiredKey: for a renewal, the key of the certificate the agent
    ///   holds: a renewal keeps the registered key, so a stolen certificate cannot
    ///   be turned into one for a key the thief holds.
    public func issueClientCertificate(csrPEM: String, instanceID: String, requiredKey: Certificate.PublicKey? = nil, now: Date = Date()) throws -> Certificate {
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(pemEncoded: csrPEM)
        } catch {
            throw TenderError(.invalidCSR, "the certificate signing request is not a valid PEM PKCS#10 request")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw TenderError(.invalidCSR, "the certificate signing request's signature does not verify")
        }
        guard P256.Signing.PublicKey(csr.publicKey) != nil else {
            throw TenderError(.invalidCSR, "the certificate signing request must carry a P-256 key")
        }
        if let requiredKey, csr.publicKey != requiredKey {
            throw TenderError(.forbidden, "a renewal must keep the key the instance registered with; this request carries another key")
        }
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: csr.publicKey,
            // Backdated a little so replicas whose clocks differ slightly accept it at once.
            notValidBefore: now.addingTimeInterval(-min(60, clientCertificateValidity / 10)),
            notValidAfter: now.addingTimeInterval(clientCertificateValidity),
            issuer: certificate.subject,
            subject: try DistinguishedName {
                OrganizationName("Tender")
                CommonName(instanceID)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
                SubjectAlternativeNames([.uniformResourceIdentifier(CertificateTools.instanceURIPrefix + instanceID)])
            },
            issuerPrivateKey: .init(key)
        )
    }
}

/// IP address text ↔ bytes for certificate SANs.
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func format(_ bytes: [UInt8]) -> String? {
        let family = bytes.count == 4 ? AF_INET : bytes.count == 16 ? AF_INET6 : -1
        guard family != -1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil }
        guard ok else { return nil }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
