#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decides, from a baseline alone, which versions are approved and what state each
/// package is in. Pure: the agent runs it on the facts its package manager gives,
/// and tests run it on tables.
public struct PatchEvaluator: Sendable {
    public var baseline: PatchBaseline
    /// The moment `approveAfterDays` counts back from.
    public var now: Date

    public init(baseline: PatchBaseline, now: Date = Date()) {
        self.baseline = baseline
        self.now = now
    }

    /// Whether the baseline rejects `name` at `version`.
    public func isRejected(name: String, version: String?) -> Bool {
        baseline.rejectedPatches.contains { $0.matches(name: name, version: version) }
    }

    /// Whether the baseline's approved list names `name` at `version`.
    public func isListedApproved(name: String, version: String?) -> Bool {
        baseline.approvedPatches.contains { $0.matches(name: name, version: version) }
    }

    /// The compliance level under which the baseline approves `version` of `package`,
    /// or nil when it does not: rejected versions never; then the global filters must
    /// pass; then the approved list, or the first rule that approves it.
    public func approval(of version: PackageVersionFacts, of package: PackageFacts) -> ComplianceLevel? {
        if isRejected(name: package.name, version: version.version) { return nil }
        guard passes(baseline.globalFilters, package, version) else { return nil }
        if isListedApproved(name: package.name, version: version.version), version.security || baseline.approvedPatchesEnableNonSecurity {
            return baseline.approvedPatchesComplianceLevel
        }
        for rule in baseline.approvalRules where passes(rule.filters, package, version) && (version.security || rule.enableNonSecurity) && isOldEnough(version, for: rule) {
            return rule.complianceLevel
        }
        return nil
    }

    /// The package's state: what its installed version and its update are to the baseline.
    public func state(of package: PackageFacts) -> PatchState {
        guard let installed = package.installed else { return .notApplicable }
        if isRejected(name: package.name, version: installed.version) {
            return baseline.rejectedPatchesAction == .allowAsDependency && package.autoInstalled ? .installedOther : .installedRejected
        }
        if let update = package.update, approval(of: update, of: package) != nil {
            return package.installFailed ? .failed : .missing
        }
        // At an approved version but not configured (the install failed or was cut short).
        if package.installFailed || package.broken, approval(of: installed, of: package) != nil { return .failed }
        if package.pendingReboot { return .installedPendingReboot }
        return approval(of: installed, of: package) != nil ? .installed : .installedOther
    }

    /// The compliance level reported with the package: that of whatever approves its
    /// update, or else its installed version.
    public func complianceLevel(of package: PackageFacts) -> ComplianceLevel? {
        if let update = package.update, let level = approval(of: update, of: package) { return level }
        return package.installed.flatMap { approval(of: $0, of: package) }
    }

    /// The updates an install run installs: every approved, missing one; or, given an
    /// override list, the available updates it names instead. Rejected packages are
    /// never installed on purpose, whatever the list says.
    public func updatesToInstall(_ packages: [PackageFacts], overrideList: [PackageSpec]? = nil) -> [PackageFacts] {
        packages.filter { package in
            guard package.installed != nil, let update = package.update else { return false }
            if isRejected(name: package.name, version: update.version) { return false }
            if let overrideList {
                return overrideList.contains { $0.matches(name: package.name, version: update.version) }
            }
            let state = state(of: package)
            return state == .missing || state == .failed
        }
    }

    private func passes(_ filters: [PatchFilter], _ package: PackageFacts, _ version: PackageVersionFacts) -> Bool {
        filters.allSatisfy { filter in
            switch filter.key {
            case .product: filter.matches(package.product)
            case .priority: filter.matches(package.priority)
            case .section: filter.matches(package.section)
            case .name: filter.matches(package.name)
            case .classification: filter.matches(version.classification)
            case .severity: filter.matches(version.severity)
            }
        }
    }

    private func isOldEnough(_ version: PackageVersionFacts, for rule: ApprovalRule) -> Bool {
        guard let days = rule.approveAfterDays, days > 0 else { return true }
        guard let released = version.releasedAt else { return false }
        return now.timeIntervalSince(released) >= Double(days) * 86_400
    }
}
