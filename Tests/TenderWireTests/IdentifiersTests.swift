import Testing
@testable import TenderWire

@Suite("Identifiers and secrets")
struct IdentifiersTests {
    @Test func instanceIDsHaveTheSSMShape() {
        for _ in 0..<100 {
            let id = Identifiers.newInstanceID()
            #expect(id.count == 20)
            #expect(Identifiers.isInstanceID(id), "\(id)")
        }
        #expect(!Identifiers.isInstanceID("mi-0123456789ABCDEF0"))
        #expect(!Identifiers.isInstanceID("mi-0123456789abcdef"))
        #expect(!Identifiers.isInstanceID("i-0123456789abcdef01"))
    }

    @Test func secretsAreLongAndUnambiguous() {
        let secrets = (0..<200).map { _ in Identifiers.randomSecret(length: 24) }
        #expect(Set(secrets).count == secrets.count)
        for secret in secrets {
            #expect(secret.count == 24)
            #expect(!secret.contains(where: { "0O1lI".contains($0) }))
        }
    }

    @Test func hashesCompareInConstantTimeCorrectly() {
        let a = SecretHash.hash("code-one"), b = SecretHash.hash("code-two")
        #expect(a.count == 64)
        #expect(SecretHash.constantTimeEquals(a, SecretHash.hash("code-one")))
        #expect(!SecretHash.constantTimeEquals(a, b))
        #expect(!SecretHash.constantTimeEquals(a, String(a.dropLast())))
    }

    @Test func fingerprintsNormalise() throws {
        let hex = String(repeating: "ab", count: 32)
        #expect(try CertificateTools.normalizeFingerprint("sha256:" + hex) == "sha256:" + hex)
        #expect(try CertificateTools.normalizeFingerprint(hex.uppercased()) == "sha256:" + hex)
        let colons = stride(from: 0, to: 64, by: 2).map { i -> String in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return String(hex[start..<hex.index(start, offsetBy: 2)])
        }.joined(separator: ":")
        #expect(try CertificateTools.normalizeFingerprint("SHA256:" + colons.uppercased()) == "sha256:" + hex)
        #expect(throws: TenderError.self) { try CertificateTools.normalizeFingerprint("sha256:abc") }
        #expect(throws: TenderError.self) { try CertificateTools.normalizeFingerprint("sha256:" + String(repeating: "zz", count: 32)) }
    }
}
