#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a package backend knows of one installed package (or one listed in the
/// baseline and not installed): the facts filters test, its installed version and
/// the newer version its package manager would install.
public struct PackageFacts: Sendable, Equatable {
    public var name: String
    public var architecture: String?
    /// nil: not installed.
    public var installed: PackageVersionFacts?
    /// The version the package manager would install instead, when newer (nil: up to date).
    public var update: PackageVersionFacts?
    /// The operating system and release, e.g. `Debian12`, `Ubuntu22.04`, `RockyLinux9`.
    public var product: String?
    /// Debian's priority and section (apt only).
    public var priority: String?
    public var section: String?
    /// Installed only because something else needs it (apt's auto-installed mark,
    /// dnf's dependency reason).
    public var autoInstalled: Bool
    /// Set by an install run: its update went in and the system asks for a reboot.
    public var pendingReboot: Bool
    /// Set by an install run: it tried to install the update and the update is not in.
    public var installFailed: Bool
    /// The package manager left it half-installed or half-configured (an interrupted
    /// or failed install); the next install repairs it first.
    public var broken: Bool

    public init(name: String, architecture: String? = nil, installed: PackageVersionFacts?, update: PackageVersionFacts? = nil, product: String? = nil,
                priority: String? = nil, section: String? = nil, autoInstalled: Bool = false, pendingReboot: Bool = false, installFailed: Bool = false,
                broken: Bool = false) {
        self.broken = broken
        self.name = name
        self.architecture = architecture
        self.installed = installed
        self.update = update
        self.product = product
        self.priority = priority
        self.section = section
        self.autoInstalled = autoInstalled
        self.pendingReboot = pendingReboot
        self.installFailed = installFailed
    }
}

/// One version of a package and where it comes from.
public struct PackageVersionFacts: Codable, Sendable, Equatable {
    public var version: String
    /// apt: the version is in a security archive (a suite ending in `-security`, or
    /// the `Debian-Security` label). dnf: a security advisory ships it.
    public var security: Bool
    /// dnf advisories only: `Security`, `Bugfix`, `Enhancement`, `Newpackage`.
    public var classification: String?
    /// dnf advisories only: `Critical`, `Important`, `Moderate`, `Low`.
    public var severity: String?
    /// When the update was released (dnf advisories' issue date), for `approveAfterDays`.
    public var releasedAt: Date?

    public init(version: String, security: Bool = false, classification: String? = nil, severity: String? = nil, releasedAt: Date? = nil) {
        self.version = version
        self.security = security
        self.classification = classification
        self.severity = severity
        self.releasedAt = releasedAt
    }
}
