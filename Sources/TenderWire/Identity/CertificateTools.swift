import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOSSL
import SwiftASN1
import X509

/// Certificate helpers both sides need: fingerprints for CA pinning, the
/// instance id carried in a client certificate, and conversions between
/// swift-certificates and NIOSSL types.
public enum CertificateTools {
    /// The URI SAN prefix under which a client certificate names its instance.
    public static let instanceURIPrefix = "urn:tender:instance:"

    /// `sha256:` + hex SHA-256 of the certificate's DER: the value operators pass as `--ca-fingerprint`.
    public static func fingerprint(_ certificate: Certificate) throws -> String {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return "sha256:" + SHA256.hash(data: serializer.serializedBytes).hexString
    }

    /// Normalises an operator-supplied fingerprint: accepts `sha256:HEX`, bare hex,
    /// upper case and `:`-separated bytes (as `openssl x509 -fingerprint` prints).
    public static func normalizeFingerprint(_ value: String) throws -> String {
        var hex = value.trimmingBlanks().lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst("sha256:".count) }
        hex.removeAll { $0 == ":" }
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else {
            throw TenderError(.validation, "CA fingerprint must be sha256: followed by 64 hex digits, got '\(value)'")
        }
        return "sha256:" + hex
    }

    public static func derBytes(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    public static func nioCertificate(_ certificate: Certificate) throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: derBytes(certificate), format: .der)
    }

    public static func certificate(from nio: NIOSSLCertificate) throws -> Certificate {
        try Certificate(derEncoded: nio.toDERBytes())
    }

    public static func nioPrivateKey(_ key: P256.Signing.PrivateKey) throws -> NIOSSLPrivateKey {
        try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
    }

    public static func pem(_ certificate: Certificate) throws -> String {
        try certificate.serializeAsPEM().pemString
    }

    /// The instance id a client certificate was issued to, from its URI SAN.
    public static func instanceID(of certificate: Certificate) -> String? {
        guard let sans = try? certificate.extensions.subjectAlternativeNames else { return nil }
        for name in sans {
            if case .uniformResourceIdentifier(let uri) = name, uri.hasPrefix(instanceURIPrefix) {
                let id = String(uri.dropFirst(instanceURIPrefix.count))
                return Identifiers.isInstanceID(id) ? id : nil
            }
        }
        return nil
    }

    /// A PKCS#10 request for `key`. The subject is informational only: the controller
    /// sets the subject of the certificate it issues.
    public static func makeCSR(key: P256.Signing.PrivateKey, commonName: String) throws -> String {
        let csr = try CertificateSigningRequest(
            version: .v1,
            subject: try DistinguishedName { CommonName(commonName) },
            privateKey: Certificate.PrivateKey(key),
            attributes: CertificateSigningRequest.Attributes(),
            signatureAlgorithm: .ecdsaWithSHA256
        )
        return try csr.serializeAsPEM().pemString
    }
}
