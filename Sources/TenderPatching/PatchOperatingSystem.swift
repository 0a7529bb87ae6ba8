#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The operating systems a baseline can be written for, by SSM's names. Each
/// belongs to one package family, and the family decides which facts a filter
/// may use (Debian archives have priorities and sections, dnf advisories have
/// classifications, severities and release dates).
public enum PatchOperatingSystem: String, Codable, Sendable, CaseIterable {
    case debian = "DEBIAN"
    case ubuntu = "UBUNTU"
    case redhatEnterpriseLinux = "REDHAT_ENTERPRISE_LINUX"
    case rockyLinux = "ROCKY_LINUX"
    case almaLinux = "ALMA_LINUX"
    case oracleLinux = "ORACLE_LINUX"
    case centos = "CENTOS"
    case fedora = "FEDORA"
    case amazonLinux2023 = "AMAZON_LINUX_2023"

    public var family: PackageFamily {
        switch self {
        case .debian, .ubuntu: .apt
        default: .dnf
        }
    }

    /// Which system an `/etc/os-release` `ID` (and `ID_LIKE`) describes, or nil.
    public static func from(osReleaseID id: String, idLike: [String] = []) -> PatchOperatingSystem? {
        switch id.lowercased() {
        case "debian": return .debian
        case "ubuntu": return .ubuntu
        case "rhel": return .redhatEnterpriseLinux
        case "rocky": return .rockyLinux
        case "almalinux": return .almaLinux
        case "ol": return .oracleLinux
        case "centos": return .centos
        case "fedora": return .fedora
        case "amzn": return .amazonLinux2023
        default:
            if idLike.contains("debian") || idLike.contains("ubuntu") { return .debian }
            if idLike.contains("rhel") || idLike.contains("fedora") { return .redhatEnterpriseLinux }
            return nil
        }
    }
}

/// The package manager family behind an operating system.
public enum PackageFamily: String, Codable, Sendable {
    case apt
    case dnf

    /// The filter keys this family's package facts can answer.
    public var filterKeys: [PatchFilterKey] {
        switch self {
        case .apt: [.product, .priority, .section, .name]
        case .dnf: [.product, .classification, .severity, .name]
        }
    }

    /// Whether updates carry a release date (`approveAfterDays` needs one).
    public var hasReleaseDates: Bool { self == .dnf }
}
