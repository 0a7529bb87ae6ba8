#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire

/// An entry of a baseline's approved or rejected list: a package name (`*`
/// wildcards allowed) and, optionally, one exact version (`name=version`, the
/// form `apt-get install` takes; with dnf, `name=epoch:version-release`).
public struct PackageSpec: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var name: String
    public var version: String?

    public init(name: String, version: String? = nil) {
        self.name = name
        self.version = version
    }

    public static let maxLength = 300

    /// Reads `name` or `name=version`, reporting problems under `path`.
    public static func parse(_ text: String, path: String, problems: inout [DocumentProblem]) -> PackageSpec? {
        let trimmed = text.trimmingBlanks()
        let parts = trimmed.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let spec = PackageSpec(name: parts[0], version: parts.count > 1 ? parts[1] : nil)
        let before = problems.count
        spec.check(path: path, problems: &problems)
        return problems.count == before ? spec : nil
    }

    /// Adds what is wrong with this entry to `problems`: names and versions use the
    /// characters package managers allow (letters, digits, `+ - . _ : ~` and `*`
    /// in names), nothing a shell or an option parser would read differently.
    public func check(path: String, problems: inout [DocumentProblem]) {
        let shown = String(description.prefix(100))
        if name.isEmpty || name.count > Self.maxLength || !name.utf8.allSatisfy(Self.isNameByte) || name.hasPrefix("-") {
            problems.append(DocumentProblem(path: path, message: "\"\(shown)\" is not a package name (letters, digits, + - . _ and * wildcards, up to \(Self.maxLength) characters)"))
        }
        if let version, version.isEmpty || version.count > Self.maxLength || !version.utf8.allSatisfy(Self.isVersionByte) {
            problems.append(DocumentProblem(path: path, message: "\"\(shown)\" has no usable version after = (letters, digits and + - . _ : ~)"))
        }
    }

    /// Whether the package `name` at `version` is this entry.
    public func matches(name other: String, version otherVersion: String?) -> Bool {
        guard Wildcard.matches(name, other) else { return false }
        guard let version else { return true }
        return version == otherVersion
    }

    public var description: String { version.map { "\(name)=\($0)" } ?? name }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || [UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*")].contains(byte)
    }

    private static func isVersionByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || [UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "~")].contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
