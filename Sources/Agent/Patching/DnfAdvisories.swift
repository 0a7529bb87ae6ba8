#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The advisories (RHEL's errata, from the repositories' `updateinfo`) that ship
/// updates for installed packages, as `dnf updateinfo list --updates -v` prints them:
///
///     RHSA-2026:0001 Important/Sec. openssl-libs-1:3.0.7-25.el9.x86_64 2026-11-02 00:00:00
///     RHBA-2026:0002 bugfix         tzdata-2026a-1.el9.noarch          2026-12-01 10:00:00
///
/// A security advisory carries its severity in the label; the date is the
/// advisory's last update (its issue date when never updated), in UTC.
struct DnfAdvisories: Sendable {
    struct Advisory: Sendable, Equatable {
        var id: String
        /// SSM's classification: `Security`, `Bugfix`, `Enhancement`, `Newpackage`.
        var classification: String
        /// `Critical`, `Important`, `Moderate`, `Low` (security advisories only).
        var severity: String?
        var package: RPMName
        var releasedAt: Date?
    }

    private(set) var byPackage: [String: [Advisory]] = [:]

    static let labels: [String: (classification: String, severity: String?)] = [
        "Critical/Sec.": ("Security", "Critical"), "Important/Sec.": ("Security", "Important"), "Moderate/Sec.": ("Security", "Moderate"),
        "Low/Sec.": ("Security", "Low"), "Unknown/Sec.": ("Security", nil), "security": ("Security", nil),
        "bugfix": ("Bugfix", nil), "enhancement": ("Enhancement", nil), "newpackage": ("Newpackage", nil),
    ]

    /// Reads dnf's listing; lines that are not an advisory (dnf's verbose chatter)
    /// are skipped.
    init(listing: String) {
        for line in listing.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 3 || fields.count == 5, let label = Self.labels[fields[1]], let package = RPMName(nevra: fields[2]) else { continue }
            let date = fields.count == 5 ? Self.date(fields[3] + " " + fields[4]) : nil
            let advisory = Advisory(id: fields[0], classification: label.classification, severity: label.severity, package: package, releasedAt: date)
            byPackage[package.key, default: []].append(advisory)
        }
    }

    /// What an update of `name.arch` is: the most important advisory among those
    /// listed for it (security before bug fixes, then the highest severity), dated
    /// by the newest of them, since the update ships that one too and
    /// `approveAfterDays` must not approve it early; nil when no advisory names it.
    func strongest(for name: String, architecture: String) -> Advisory? {
        let advisories = byPackage["\(name).\(architecture)"] ?? []
        guard var strongest = advisories.max(by: { Self.rank($0) < Self.rank($1) }) else { return nil }
        strongest.releasedAt = advisories.compactMap(\.releasedAt).max()
        return strongest
    }

    private static func rank(_ advisory: Advisory) -> (Int, Int, Date) {
        let classes = ["Newpackage": 0, "Enhancement": 1, "Bugfix": 2, "Security": 3]
        let severities = ["Low": 1, "Moderate": 2, "Important": 3, "Critical": 4]
        return (classes[advisory.classification] ?? 0, advisory.severity.flatMap { severities[$0] } ?? 0, advisory.releasedAt ?? .distantPast)
    }

    /// "2026-11-02 00:00:00" in UTC (dnf runs with TZ=UTC); the epoch (an advisory
    /// without a date) is no date.
    static func date(_ text: String) -> Date? {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).compactMap { Int($0) }
        guard parts.count == 6, parts[0] > 1970 else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day) = (parts[0], parts[1], parts[2])
        (components.hour, components.minute, components.second) = (parts[3], parts[4], parts[5])
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar.date(from: components)
    }
}

/// An rpm package's name, epoch, version, release and architecture.
struct RPMName: Sendable, Equatable {
    var name: String
    var epoch: Int
    var version: String
    var release: String
    var architecture: String

    var key: String { "\(name).\(architecture)" }

    /// The version as Tender reports and matches it: `[epoch:]version-release`.
    var evr: String { (epoch > 0 ? "\(epoch):" : "") + "\(version)-\(release)" }

    init(name: String, epoch: Int, version: String, release: String, architecture: String) {
        self.name = name
        self.epoch = epoch
        self.version = version
        self.release = release
        self.architecture = architecture
    }

    /// `name-[epoch:]version-release.arch`, as dnf prints it.
    init?(nevra: String) {
        guard let dot = nevra.lastIndex(of: "."), let releaseDash = nevra[..<dot].lastIndex(of: "-"),
              let versionDash = nevra[..<releaseDash].lastIndex(of: "-") else { return nil }
        architecture = String(nevra[nevra.index(after: dot)...])
        release = String(nevra[nevra.index(after: releaseDash)..<dot])
        var ev = nevra[nevra.index(after: versionDash)..<releaseDash]
        name = String(nevra[..<versionDash])
        epoch = 0
        if let colon = ev.firstIndex(of: ":") {
            guard let value = Int(ev[..<colon]) else { return nil }
            epoch = value
            ev = ev[ev.index(after: colon)...]
        }
        version = String(ev)
        guard !name.isEmpty, !version.isEmpty, !release.isEmpty, !architecture.isEmpty else { return nil }
    }
}
