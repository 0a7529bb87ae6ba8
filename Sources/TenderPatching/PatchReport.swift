#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a patch run reports as its step payload (kind `PatchReport.kind`): the
/// packages that matter to the baseline, each with its state, and the counts of
/// all of them. The controller stores it as the instance's compliance.
///
/// Packages the baseline has no word on (installed, not approved, not listed) are
/// only counted (`installedOther`): a real system has thousands, and a report must
/// stay well inside one result's payload limit.
public struct PatchReport: Codable, Sendable, Equatable {
    public static let kind = "tender.patch/1"
    /// The most packages one report lists; the counts always cover all of them.
    public static let maxListed = 1_000

    public var operation: PatchOperation
    public var baselineId: String
    public var patchGroup: String?
    public var operatingSystem: PatchOperatingSystem
    public var product: String?
    public var packages: [PatchedPackage]
    public var counts: PatchCounts
    /// Listed packages were cut at `maxListed`.
    public var truncated: Bool
    /// The system asks for a reboot (after this run's installs, or from before).
    public var rebootRequired: Bool

    public init(operation: PatchOperation, baselineId: String, patchGroup: String?, operatingSystem: PatchOperatingSystem, product: String?,
                packages: [PatchedPackage], counts: PatchCounts, truncated: Bool, rebootRequired: Bool) {
        self.operation = operation
        self.baselineId = baselineId
        self.patchGroup = patchGroup
        self.operatingSystem = operatingSystem
        self.product = product
        self.packages = packages
        self.counts = counts
        self.truncated = truncated
        self.rebootRequired = rebootRequired
    }

    /// Evaluates `facts` against the evaluator's baseline into a report.
    public init(operation: PatchOperation, evaluator: PatchEvaluator, patchGroup: String?, product: String?, facts: [PackageFacts], rebootRequired: Bool) {
        var counts = PatchCounts()
        var listed: [PatchedPackage] = []
        var truncated = false
        for package in facts.sorted(by: { ($0.name, $0.architecture ?? "") < ($1.name, $1.architecture ?? "") }) {
            let state = evaluator.state(of: package)
            counts.add(state)
            let named = evaluator.isRejected(name: package.name, version: nil) || evaluator.isListedApproved(name: package.name, version: nil)
            guard state != .installedOther || named else { continue }
            guard listed.count < Self.maxListed else {
                truncated = true
                continue
            }
            let shown = package.update ?? package.installed
            listed.append(PatchedPackage(
                name: package.name, architecture: package.architecture, installedVersion: package.installed?.version, availableVersion: package.update?.version,
                classification: shown?.classification ?? (shown?.security == true ? "Security" : nil), severity: shown?.severity,
                priority: package.priority, section: package.section, complianceLevel: evaluator.complianceLevel(of: package), state: state))
        }
        self.init(operation: operation, baselineId: evaluator.baseline.id, patchGroup: patchGroup, operatingSystem: evaluator.baseline.operatingSystem,
                  product: product, packages: listed, counts: counts, truncated: truncated, rebootRequired: rebootRequired)
    }

    /// Nothing missing, failed, waiting for a reboot or rejected.
    public var compliant: Bool { counts.breakingCompliance == 0 }
}

public enum PatchOperation: String, Codable, Sendable, CaseIterable {
    case scan = "Scan"
    case install = "Install"
}

/// One package as a report lists it (the fields of `tender compliance show`).
public struct PatchedPackage: Codable, Sendable, Equatable {
    public var name: String
    public var architecture: String?
    public var installedVersion: String?
    public var availableVersion: String?
    public var classification: String?
    public var severity: String?
    public var priority: String?
    public var section: String?
    public var complianceLevel: ComplianceLevel?
    public var state: PatchState

    public init(name: String, architecture: String? = nil, installedVersion: String?, availableVersion: String?, classification: String? = nil, severity: String? = nil,
                priority: String? = nil, section: String? = nil, complianceLevel: ComplianceLevel? = nil, state: PatchState) {
        self.name = name
        self.architecture = architecture
        self.installedVersion = installedVersion
        self.availableVersion = availableVersion
        self.classification = classification
        self.severity = severity
        self.priority = priority
        self.section = section
        self.complianceLevel = complianceLevel
        self.state = state
    }
}

/// How many packages are in each state.
public struct PatchCounts: Codable, Sendable, Equatable {
    public var installed = 0
    public var installedOther = 0
    public var installedPendingReboot = 0
    public var installedRejected = 0
    public var missing = 0
    public var failed = 0
    public var notApplicable = 0

    public init() {}

    public mutating func add(_ state: PatchState) {
        switch state {
        case .installed: installed += 1
        case .installedOther: installedOther += 1
        case .installedPendingReboot: installedPendingReboot += 1
        case .installedRejected: installedRejected += 1
        case .missing: missing += 1
        case .failed: failed += 1
        case .notApplicable: notApplicable += 1
        }
    }

    public func count(of state: PatchState) -> Int {
        switch state {
        case .installed: installed
        case .installedOther: installedOther
        case .installedPendingReboot: installedPendingReboot
        case .installedRejected: installedRejected
        case .missing: missing
        case .failed: failed
        case .notApplicable: notApplicable
        }
    }

    /// How many packages are in a state that makes the instance non-compliant.
    public var breakingCompliance: Int {
        PatchState.allCases.filter(\.breaksCompliance).reduce(0) { $0 + count(of: $1) }
    }
}
