import Foundation
import Testing
import TenderPatching

/// The rule evaluation as tables: each row is a package (its facts) under a
/// baseline, and the state and compliance level it must get.
@Suite("Patch evaluation")
struct PatchEvaluatorTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Debian, every security update (the predefined baseline).
    static let securityOnly = PredefinedBaselines.baseline(for: .debian)

    static func debian(_ rules: [ApprovalRule] = [], global: [PatchFilter] = [], approved: [PackageSpec] = [], approvedNonSecurity: Bool = false,
                       approvedLevel: ComplianceLevel = .unspecified, rejected: [PackageSpec] = [], action: RejectedPatchesAction = .allowAsDependency) -> PatchBaseline {
        PatchBaseline(id: "pb-test", name: "test", operatingSystem: .debian, approvalRules: rules, globalFilters: global, approvedPatches: approved,
                      approvedPatchesComplianceLevel: approvedLevel, approvedPatchesEnableNonSecurity: approvedNonSecurity, rejectedPatches: rejected, rejectedPatchesAction: action)
    }

    static func pkg(_ name: String, installed: String? = "1.0", security installedSecurity: Bool = false, update: String? = nil, updateSecurity: Bool = true,
                    priority: String? = "optional", section: String? = "libs", product: String? = "Debian12", auto: Bool = false,
                    pendingReboot: Bool = false, failed: Bool = false) -> PackageFacts {
        PackageFacts(name: name, architecture: "amd64", installed: installed.map { PackageVersionFacts(version: $0, security: installedSecurity) },
                     update: update.map { PackageVersionFacts(version: $0, security: updateSecurity) }, product: product, priority: priority, section: section,
                     autoInstalled: auto, pendingReboot: pendingReboot, installFailed: failed)
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var baseline: PatchBaseline
        var package: PackageFacts
        var state: PatchState
        var level: ComplianceLevel? = nil
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        // Every state.
        Row(name: "security update available: MISSING", baseline: securityOnly, package: pkg("openssl", update: "1.1"), state: .missing, level: .unspecified),
        Row(name: "security update installed: INSTALLED", baseline: securityOnly, package: pkg("openssl", installed: "1.1", security: true), state: .installed, level: .unspecified),
        Row(name: "never patched, nothing pending: INSTALLED_OTHER", baseline: securityOnly, package: pkg("bash"), state: .installedOther),
        Row(name: "non-security update under security-only: INSTALLED_OTHER", baseline: securityOnly, package: pkg("vim", update: "2.0", updateSecurity: false), state: .installedOther),
        Row(name: "the run's install failed: FAILED", baseline: securityOnly, package: pkg("openssl", update: "1.1", failed: true), state: .failed, level: .unspecified),
        Row(name: "approved version in but not configured: FAILED", baseline: securityOnly,
            package: broken(pkg("openssl", installed: "1.1", security: true)), state: .failed, level: .unspecified),
        Row(name: "not configured, not the baseline's business: INSTALLED_OTHER", baseline: securityOnly, package: broken(pkg("bash")), state: .installedOther),
        Row(name: "installed, reboot pending: INSTALLED_PENDING_REBOOT", baseline: securityOnly, package: pkg("linux-image", installed: "6.1", security: true, pendingReboot: true), state: .installedPendingReboot, level: .unspecified),
        Row(name: "listed approved, not installed: NOT_APPLICABLE", baseline: debian(approved: [PackageSpec(name: "nginx")]), package: pkg("nginx", installed: nil), state: .notApplicable),
        // Rejected packages.
        Row(name: "rejected, installed on purpose, ALLOW_AS_DEPENDENCY: INSTALLED_REJECTED", baseline: debian([rule()], rejected: [PackageSpec(name: "telnet")]),
            package: pkg("telnet"), state: .installedRejected),
        Row(name: "rejected, pulled in as a dependency, ALLOW_AS_DEPENDENCY: INSTALLED_OTHER", baseline: debian([rule()], rejected: [PackageSpec(name: "telnet")]),
            package: pkg("telnet", auto: true), state: .installedOther),
        Row(name: "rejected, pulled in as a dependency, BLOCK: INSTALLED_REJECTED", baseline: debian([rule()], rejected: [PackageSpec(name: "telnet")], action: .block),
            package: pkg("telnet", auto: true), state: .installedRejected),
        Row(name: "rejected by wildcard: INSTALLED_REJECTED", baseline: debian([rule()], rejected: [PackageSpec(name: "libtelnet*")]),
            package: pkg("libtelnet-dev"), state: .installedRejected),
        Row(name: "rejected update version only: the update is not approved", baseline: debian([rule()], rejected: [PackageSpec(name: "openssl", version: "1.1")]),
            package: pkg("openssl", update: "1.1"), state: .installedOther),
        Row(name: "rejected other version: the update is approved", baseline: debian([rule()], rejected: [PackageSpec(name: "openssl", version: "0.9")]),
            package: pkg("openssl", update: "1.1"), state: .missing, level: .high),
        Row(name: "rejected wins over approved list", baseline: debian(approved: [PackageSpec(name: "openssl")], rejected: [PackageSpec(name: "openssl")]),
            package: pkg("openssl", auto: false), state: .installedRejected),
        // Rule filters.
        Row(name: "PRIORITY matches", baseline: debian([rule(.priority, "required", "important")]), package: pkg("libc6", update: "2", priority: "important"), state: .missing, level: .high),
        Row(name: "PRIORITY does not match", baseline: debian([rule(.priority, "required", "important")]), package: pkg("libfoo", update: "2", priority: "optional"), state: .installedOther),
        Row(name: "PRIORITY, package without one", baseline: debian([rule(.priority, "required")]), package: pkg("odd", update: "2", priority: nil), state: .installedOther),
        Row(name: "PRIORITY=* matches a package without one", baseline: debian([rule(.priority, "*")]), package: pkg("odd", update: "2", priority: nil), state: .missing, level: .high),
        Row(name: "SECTION matches without regard to case", baseline: debian([rule(.section, "ADMIN")]), package: pkg("sudo", update: "2", section: "admin"), state: .missing, level: .high),
        Row(name: "SECTION with a wildcard", baseline: debian([rule(.section, "*/admin")]), package: pkg("x", update: "2", section: "contrib/admin"), state: .missing, level: .high),
        Row(name: "NAME with a wildcard", baseline: debian([rule(.name, "lib*")]), package: pkg("libssl3", update: "2"), state: .missing, level: .high),
        Row(name: "NAME wildcard, no match", baseline: debian([rule(.name, "lib*")]), package: pkg("openssl", update: "2"), state: .installedOther),
        Row(name: "PRODUCT matches", baseline: debian([rule(.product, "Debian12")]), package: pkg("a", update: "2", product: "Debian12"), state: .missing, level: .high),
        Row(name: "PRODUCT does not match", baseline: debian([rule(.product, "Debian11")]), package: pkg("a", update: "2", product: "Debian12"), state: .installedOther),
        Row(name: "every filter of a group must pass", baseline: debian([rule2(.priority, ["required"], .section, ["admin"])]),
            package: pkg("a", update: "2", priority: "required", section: "libs"), state: .installedOther),
        Row(name: "a group whose filters all pass", baseline: debian([rule2(.priority, ["required"], .section, ["admin"])]),
            package: pkg("a", update: "2", priority: "required", section: "admin"), state: .missing, level: .high),
        Row(name: "non-security update, rule enables non-security", baseline: debian([rule(nonSecurity: true)]),
            package: pkg("vim", update: "2.0", updateSecurity: false), state: .missing, level: .high),
        Row(name: "first approving rule gives the level", baseline: debian([ApprovalRule(filters: [f(.name, "zz*")], complianceLevel: .critical),
                                                                          ApprovalRule(filters: [f(.priority, "*")], complianceLevel: .low),
                                                                          ApprovalRule(filters: [f(.priority, "*")], complianceLevel: .critical)]),
            package: pkg("a", update: "2"), state: .missing, level: .low),
        // Global filters.
        Row(name: "global filter excludes what a rule approves", baseline: debian([rule()], global: [f(.section, "admin")]),
            package: pkg("a", update: "2", section: "libs"), state: .installedOther),
        Row(name: "global filter excludes what the list approves", baseline: debian(global: [f(.section, "admin")], approved: [PackageSpec(name: "a")]),
            package: pkg("a", update: "2", section: "libs"), state: .installedOther),
        // The approved list.
        Row(name: "approved list, security update", baseline: debian(approved: [PackageSpec(name: "curl")], approvedLevel: .medium),
            package: pkg("curl", update: "8"), state: .missing, level: .medium),
        Row(name: "approved list, non-security update, not enabled", baseline: debian(approved: [PackageSpec(name: "curl")]),
            package: pkg("curl", update: "8", updateSecurity: false), state: .installedOther),
        Row(name: "approved list, non-security update, enabled", baseline: debian(approved: [PackageSpec(name: "curl")], approvedNonSecurity: true, approvedLevel: .medium),
            package: pkg("curl", update: "8", updateSecurity: false), state: .missing, level: .medium),
        Row(name: "approved list with the update's version", baseline: debian(approved: [PackageSpec(name: "curl", version: "8")]),
            package: pkg("curl", update: "8"), state: .missing, level: .unspecified),
        Row(name: "approved list with another version", baseline: debian(approved: [PackageSpec(name: "curl", version: "7")]),
            package: pkg("curl", update: "8"), state: .installedOther),
        Row(name: "approved list, installed version approved: INSTALLED", baseline: debian(approved: [PackageSpec(name: "curl")], approvedNonSecurity: true),
            package: pkg("curl", installed: "8"), state: .installed, level: .unspecified),
    ]

    @Test(arguments: rows)
    func state(_ row: Row) {
        let evaluator = PatchEvaluator(baseline: row.baseline, now: Self.now)
        #expect(evaluator.state(of: row.package) == row.state)
        #expect(evaluator.complianceLevel(of: row.package) == row.level)
    }

    // MARK: dnf: classification, severity, release dates

    static func rhel(_ rules: [ApprovalRule]) -> PatchBaseline {
        PatchBaseline(id: "pb-rhel", name: "rhel", operatingSystem: .rockyLinux, approvalRules: rules)
    }

    static func rpm(_ name: String, classification: String?, severity: String?, security: Bool? = nil, releasedDaysAgo: Double? = nil) -> PackageFacts {
        PackageFacts(name: name, architecture: "x86_64", installed: PackageVersionFacts(version: "1.0-1"),
                     update: PackageVersionFacts(version: "1.0-2", security: security ?? (classification == "Security"), classification: classification, severity: severity,
                                                 releasedAt: releasedDaysAgo.map { now.addingTimeInterval(-$0 * 86_400) }), product: "RockyLinux9")
    }

    static let dnfRows: [Row] = [
        Row(name: "predefined: security, Critical", baseline: PredefinedBaselines.baseline(for: .rockyLinux), package: rpm("kernel", classification: "Security", severity: "Critical"), state: .missing, level: .unspecified),
        Row(name: "predefined: security, Important", baseline: PredefinedBaselines.baseline(for: .rockyLinux), package: rpm("openssl", classification: "Security", severity: "Important"), state: .missing, level: .unspecified),
        Row(name: "predefined: security, Moderate", baseline: PredefinedBaselines.baseline(for: .rockyLinux), package: rpm("curl", classification: "Security", severity: "Moderate"), state: .installedOther),
        Row(name: "predefined: bug fix", baseline: PredefinedBaselines.baseline(for: .rockyLinux), package: rpm("bash", classification: "Bugfix", severity: nil), state: .installedOther),
        Row(name: "predefined: no advisory", baseline: PredefinedBaselines.baseline(for: .rockyLinux), package: rpm("vim", classification: nil, severity: nil), state: .installedOther),
        Row(name: "bug fixes with non-security enabled", baseline: rhel([ApprovalRule(filters: [f(.classification, "Bugfix")], complianceLevel: .low, enableNonSecurity: true)]),
            package: rpm("bash", classification: "Bugfix", severity: nil), state: .missing, level: .low),
        Row(name: "bug fixes, non-security not enabled", baseline: rhel([ApprovalRule(filters: [f(.classification, "Bugfix")], complianceLevel: .low)]),
            package: rpm("bash", classification: "Bugfix", severity: nil), state: .installedOther),
        Row(name: "approveAfterDays 7, released 3 days ago", baseline: rhel([ApprovalRule(filters: [f(.classification, "Security")], approveAfterDays: 7)]),
            package: rpm("a", classification: "Security", severity: "Low", releasedDaysAgo: 3), state: .installedOther),
        Row(name: "approveAfterDays 7, released 10 days ago", baseline: rhel([ApprovalRule(filters: [f(.classification, "Security")], complianceLevel: .high, approveAfterDays: 7)]),
            package: rpm("a", classification: "Security", severity: "Low", releasedDaysAgo: 10), state: .missing, level: .high),
        Row(name: "approveAfterDays 7, no release date", baseline: rhel([ApprovalRule(filters: [f(.classification, "Security")], approveAfterDays: 7)]),
            package: rpm("a", classification: "Security", severity: "Low"), state: .installedOther),
        Row(name: "approveAfterDays 0 needs no date", baseline: rhel([ApprovalRule(filters: [f(.classification, "Security")], complianceLevel: .low, approveAfterDays: 0)]),
            package: rpm("a", classification: "Security", severity: "Low"), state: .missing, level: .low),
    ]

    @Test(arguments: dnfRows)
    func dnfState(_ row: Row) {
        state(row)
    }

    // MARK: what an install run installs

    @Test func installsApprovedMissingUpdatesOnly() {
        let baseline = Self.debian([Self.rule()], rejected: [PackageSpec(name: "telnet")], action: .block)
        let evaluator = PatchEvaluator(baseline: baseline, now: Self.now)
        let facts = [
            Self.pkg("openssl", update: "1.1"),
            Self.pkg("vim", update: "2", updateSecurity: false),
            Self.pkg("telnet", update: "0.18"),
            Self.pkg("bash"),
            Self.pkg("curl", update: "8", failed: true),
        ]
        #expect(evaluator.updatesToInstall(facts).map(\.name) == ["openssl", "curl"])
        // An override list picks what it names among the available updates, even a
        // non-security one, and never a rejected package.
        let override = [PackageSpec(name: "vim"), PackageSpec(name: "telnet"), PackageSpec(name: "bash")]
        #expect(evaluator.updatesToInstall(facts, overrideList: override).map(\.name) == ["vim"])
        #expect(evaluator.updatesToInstall(facts, overrideList: [PackageSpec(name: "vim", version: "3")]).isEmpty)
    }

    // MARK: reports

    @Test func reportListsWhatTheBaselineNamesAndCountsEverything() {
        let baseline = Self.debian([Self.rule()], approved: [PackageSpec(name: "nginx")], rejected: [PackageSpec(name: "telnet")])
        let facts = [
            Self.pkg("openssl", update: "1.1"),
            Self.pkg("bash"),
            Self.pkg("zsh"),
            Self.pkg("telnet", auto: true),
            Self.pkg("nginx", installed: nil),
            Self.pkg("libc6", installed: "2.36", security: true),
        ]
        let report = PatchReport(operation: .scan, evaluator: PatchEvaluator(baseline: baseline, now: Self.now), patchGroup: "web", product: "Debian12", facts: facts, rebootRequired: false)
        #expect(report.packages.map(\.name) == ["libc6", "nginx", "openssl", "telnet"])
        #expect(report.packages.map(\.state) == [.installed, .notApplicable, .missing, .installedOther])
        var counts = PatchCounts()
        counts.installed = 1
        counts.installedOther = 3
        counts.missing = 1
        counts.notApplicable = 1
        #expect(report.counts == counts)
        #expect(!report.compliant)
        #expect(report.packages.first { $0.name == "openssl" }?.availableVersion == "1.1")
        #expect(report.packages.first { $0.name == "openssl" }?.classification == "Security")

        let rebooting = PatchReport(operation: .install, evaluator: PatchEvaluator(baseline: baseline, now: Self.now), patchGroup: nil, product: nil,
                                    facts: [Self.pkg("linux-image", installed: "6.1", security: true, pendingReboot: true)], rebootRequired: true)
        #expect(rebooting.counts.installedPendingReboot == 1)
        #expect(!rebooting.compliant, "installed updates are not in use until the reboot")

        let clean = PatchReport(operation: .scan, evaluator: PatchEvaluator(baseline: baseline, now: Self.now), patchGroup: nil, product: nil, facts: [Self.pkg("bash")], rebootRequired: false)
        #expect(clean.compliant)
    }

    @Test func reportListsAtMostItsLimitAndStillCountsAll() {
        let facts = (0..<(PatchReport.maxListed + 5)).map { Self.pkg(String(format: "pkg%05d", $0), update: "2") }
        let report = PatchReport(operation: .scan, evaluator: PatchEvaluator(baseline: Self.securityOnly, now: Self.now), patchGroup: nil, product: nil, facts: facts, rebootRequired: false)
        #expect(report.packages.count == PatchReport.maxListed)
        #expect(report.truncated)
        #expect(report.counts.missing == PatchReport.maxListed + 5)
        let encoded = try? JSONEncoder().encode(report)
        #expect((encoded?.count ?? .max) < 256 * 1024, "a full report fits one result's payload limit")
    }

    @Test func complianceBreakingStates() {
        #expect(PatchState.allCases.filter(\.breaksCompliance) == [.installedPendingReboot, .installedRejected, .missing, .failed])
    }

    // MARK: helpers

    static func broken(_ package: PackageFacts) -> PackageFacts {
        var package = package
        package.broken = true
        return package
    }

    static func f(_ key: PatchFilterKey, _ values: String...) -> PatchFilter {
        PatchFilter(key: key, values: values)
    }

    static func rule(_ key: PatchFilterKey = .priority, _ values: String..., nonSecurity: Bool = false) -> ApprovalRule {
        ApprovalRule(filters: [PatchFilter(key: key, values: values.isEmpty ? ["*"] : values)], complianceLevel: .high, enableNonSecurity: nonSecurity)
    }

    static func rule2(_ k1: PatchFilterKey, _ v1: [String], _ k2: PatchFilterKey, _ v2: [String]) -> ApprovalRule {
        ApprovalRule(filters: [PatchFilter(key: k1, values: v1), PatchFilter(key: k2, values: v2)], complianceLevel: .high)
    }
}
