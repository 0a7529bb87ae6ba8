import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Identifier formats shared by controller, agent and CLI.
///
/// Instance ids follow SSM (`mi-` + 17 lowercase hex digits) so that operators
/// moving over recognise them and scripts can validate them cheaply.
public enum Identifiers {
    public static let instancePrefix = "mi-"
    public static let windowPrefix = "mw-"
    public static let deploymentPrefix = "d-"

    /// A new random `mi-` id.
    public static func newInstanceID() -> String { instancePrefix + randomHex(17) }

    /// True if `value` is `mi-` followed by exactly 17 lowercase hex digits.
    public static func isInstanceID(_ value: String) -> Bool {
        guard value.hasPrefix(instancePrefix) else { return false }
        let rest = value.dropFirst(instancePrefix.count)
        return rest.count == 17 && rest.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    /// A UUID-like activation id, lowercase.
    public static func newActivationID() -> String { UUID().uuidString.lowercased() }

    /// Random lowercase hex of the given length, from the system CSPRNG.
    public static func randomHex(_ length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<length).map { _ in digits[Int(generator.next() % 16)] })
    }

    /// A secret of `length` characters drawn uniformly from an unambiguous alphabet.
    ///
    /// Used for activation codes and API tokens: these are typed or pasted by people,
    /// so the alphabet avoids look-alikes, and rejection sampling keeps it unbiased.
    public static func randomSecret(length: Int) -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        var out = ""
        out.reserveCapacity(length)
        let limit = UInt8(256 - (256 % alphabet.count))
        while out.count < length {
            let byte = UInt8.random(in: 0...255, using: &generator)
            if byte < limit { out.append(alphabet[Int(byte) % alphabet.count]) }
        }
        return out
    }
}

/// Hashing of secrets (activation codes, API tokens) for storage and comparison.
public enum SecretHash {
    /// SHA-256 of the secret, hex. Secrets are long random strings, so a fast hash is
    /// enough: there is no dictionary to guess from.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).hexString
    }

    /// Compares two hashes in time independent of where they differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex of these bytes.
    public var hexString: String {
        let digits = Array("0123456789abcdef")
        var out = ""
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return out
    }
}

extension SHA256.Digest {
    public var hexString: String { Array(self).hexString }
}
