#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire

/// What a patch run approves, rejects and reports, for one operating system. The
/// controller keeps baselines and resolves one per instance when it sends a patch
/// run; the agent gets this value and evaluates its packages with `PatchEvaluator`.
public struct PatchBaseline: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var operatingSystem: PatchOperatingSystem
    public var approvalRules: [ApprovalRule]
    /// Filters every update must pass, whatever approved it.
    public var globalFilters: [PatchFilter]
    public var approvedPatches: [PackageSpec]
    public var approvedPatchesComplianceLevel: ComplianceLevel
    /// Whether listed approved packages count when their update is not a security one.
    public var approvedPatchesEnableNonSecurity: Bool
    public var rejectedPatches: [PackageSpec]
    public var rejectedPatchesAction: RejectedPatchesAction

    public init(id: String, name: String, operatingSystem: PatchOperatingSystem, approvalRules: [ApprovalRule] = [], globalFilters: [PatchFilter] = [],
                approvedPatches: [PackageSpec] = [], approvedPatchesComplianceLevel: ComplianceLevel = .unspecified, approvedPatchesEnableNonSecurity: Bool = false,
                rejectedPatches: [PackageSpec] = [], rejectedPatchesAction: RejectedPatchesAction = .allowAsDependency) {
        self.id = id
        self.name = name
        self.operatingSystem = operatingSystem
        self.approvalRules = approvalRules
        self.globalFilters = globalFilters
        self.approvedPatches = approvedPatches
        self.approvedPatchesComplianceLevel = approvedPatchesComplianceLevel
        self.approvedPatchesEnableNonSecurity = approvedPatchesEnableNonSecurity
        self.rejectedPatches = rejectedPatches
        self.rejectedPatchesAction = rejectedPatchesAction
    }

    /// Bounds on what one baseline holds (SSM's own are of the same order).
    public static let maxRules = 10
    public static let maxFiltersPerGroup = 10
    public static let maxListedPackages = 1_000

    /// Everything wrong with this baseline for its operating system, each problem
    /// named by its field path; empty when it can be stored and used.
    public var problems: [DocumentProblem] {
        var problems: [DocumentProblem] = []
        let family = operatingSystem.family
        if approvalRules.count > Self.maxRules {
            problems.append(DocumentProblem(path: "approvalRules", message: "\(approvalRules.count) rules, at most \(Self.maxRules)"))
        }
        func checkFilters(_ filters: [PatchFilter], path: String) {
            if filters.count > Self.maxFiltersPerGroup {
                problems.append(DocumentProblem(path: path, message: "\(filters.count) filters, at most \(Self.maxFiltersPerGroup)"))
            }
            var seen = Set<PatchFilterKey>()
            for (index, filter) in filters.enumerated() {
                let filterPath = "\(path)[\(index)]"
                filter.check(path: filterPath, problems: &problems)
                if !family.filterKeys.contains(filter.key) {
                    let keys = family.filterKeys.map(\.rawValue).joined(separator: ", ")
                    problems.append(DocumentProblem(path: filterPath, message: "\(operatingSystem.rawValue) packages have no \(filter.key.rawValue); filter on \(keys)"))
                }
                if !seen.insert(filter.key).inserted {
                    problems.append(DocumentProblem(path: filterPath, message: "\(filter.key.rawValue) appears twice in one filter group; list its values in one filter"))
                }
            }
        }
        checkFilters(globalFilters, path: "globalFilters")
        for (index, rule) in approvalRules.enumerated() {
            let path = "approvalRules[\(index)]"
            if rule.filters.isEmpty {
                problems.append(DocumentProblem(path: "\(path).filters", message: "a rule needs at least one filter (PRODUCT=* approves every product)"))
            }
            checkFilters(rule.filters, path: "\(path).filters")
            if let days = rule.approveAfterDays {
                if !family.hasReleaseDates {
                    problems.append(DocumentProblem(path: "\(path).approveAfterDays", message: "\(operatingSystem.rawValue) updates carry no release date; leave approveAfterDays out"))
                } else if !(0...ApprovalRule.maxApproveAfterDays).contains(days) {
                    problems.append(DocumentProblem(path: "\(path).approveAfterDays", message: "\(days) is not between 0 and \(ApprovalRule.maxApproveAfterDays)"))
                }
            }
        }
        for (field, list) in [("approvedPatches", approvedPatches), ("rejectedPatches", rejectedPatches)] {
            if list.count > Self.maxListedPackages {
                problems.append(DocumentProblem(path: field, message: "\(list.count) packages, at most \(Self.maxListedPackages)"))
            }
            for (index, spec) in list.prefix(Self.maxListedPackages).enumerated() {
                spec.check(path: "\(field)[\(index)]", problems: &problems)
            }
        }
        return problems
    }
}
