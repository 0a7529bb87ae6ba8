import Foundation
import TenderPatching

/// `POST /v1/baselines` and `PUT /v1/baselines/{id}`. Enumerations travel as
/// strings so that a wrong one is reported by field path with the allowed values,
/// like every other problem, rather than as an undecodable body.
public struct BaselineRequest: Codable, Sendable, Equatable {
    public var name: String
    public var operatingSystem: String
    public var description: String?
    public var approvalRules: [Rule]?
    public var globalFilters: [Filter]?
    /// `name` or `name=version`, `*` wildcards in names.
    public var approvedPatches: [String]?
    public var approvedPatchesComplianceLevel: String?
    public var approvedPatchesEnableNonSecurity: Bool?
    public var rejectedPatches: [String]?
    /// `ALLOW_AS_DEPENDENCY` (default) or `BLOCK`.
    public var rejectedPatchesAction: String?

    public struct Rule: Codable, Sendable, Equatable {
        public var filters: [Filter]
        public var complianceLevel: String?
        public var enableNonSecurity: Bool?
        public var approveAfterDays: Int?

        public init(filters: [Filter], complianceLevel: String? = nil, enableNonSecurity: Bool? = nil, approveAfterDays: Int? = nil) {
            self.filters = filters
            self.complianceLevel = complianceLevel
            self.enableNonSecurity = enableNonSecurity
            self.approveAfterDays = approveAfterDays
        }
    }

    public struct Filter: Codable, Sendable, Equatable {
        public var key: String
        public var values: [String]

        public init(key: String, values: [String]) {
            self.key = key
            self.values = values
        }
    }

    public init(name: String, operatingSystem: String, description: String? = nil, approvalRules: [Rule]? = nil, globalFilters: [Filter]? = nil,
                approvedPatches: [String]? = nil, approvedPatchesComplianceLevel: String? = nil, approvedPatchesEnableNonSecurity: Bool? = nil,
                rejectedPatches: [String]? = nil, rejectedPatchesAction: String? = nil) {
        self.name = name
        self.operatingSystem = operatingSystem
        self.description = description
        self.approvalRules = approvalRules
        self.globalFilters = globalFilters
        self.approvedPatches = approvedPatches
        self.approvedPatchesComplianceLevel = approvedPatchesComplianceLevel
        self.approvedPatchesEnableNonSecurity = approvedPatchesEnableNonSecurity
        self.rejectedPatches = rejectedPatches
        self.rejectedPatchesAction = rejectedPatchesAction
    }
}

/// A baseline as the API shows it.
public struct BaselineInfo: Codable, Sendable, Equatable {
    public var baselineId: String
    public var name: String
    public var operatingSystem: String
    public var description: String?
    public var approvalRules: [BaselineRequest.Rule]
    public var globalFilters: [BaselineRequest.Filter]
    public var approvedPatches: [String]
    public var approvedPatchesComplianceLevel: String
    public var approvedPatchesEnableNonSecurity: Bool
    public var rejectedPatches: [String]
    public var rejectedPatchesAction: String
    /// One of the read-only baselines every controller has.
    public var predefined: Bool
    /// The baseline used for its operating system when a patch group names none.
    public var defaultBaseline: Bool
    public var patchGroups: [String]
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(_ baseline: PatchBaseline, description: String?, predefined: Bool, defaultBaseline: Bool, patchGroups: [String], createdAt: Date?, updatedAt: Date?) {
        baselineId = baseline.id
        name = baseline.name
        operatingSystem = baseline.operatingSystem.rawValue
        self.description = description
        approvalRules = baseline.approvalRules.map { rule in
            BaselineRequest.Rule(filters: rule.filters.map { BaselineRequest.Filter(key: $0.key.rawValue, values: $0.values) },
                                 complianceLevel: rule.complianceLevel.rawValue, enableNonSecurity: rule.enableNonSecurity, approveAfterDays: rule.approveAfterDays)
        }
        globalFilters = baseline.globalFilters.map { BaselineRequest.Filter(key: $0.key.rawValue, values: $0.values) }
        approvedPatches = baseline.approvedPatches.map(\.description)
        approvedPatchesComplianceLevel = baseline.approvedPatchesComplianceLevel.rawValue
        approvedPatchesEnableNonSecurity = baseline.approvedPatchesEnableNonSecurity
        rejectedPatches = baseline.rejectedPatches.map(\.description)
        rejectedPatchesAction = baseline.rejectedPatchesAction.rawValue
        self.predefined = predefined
        self.defaultBaseline = defaultBaseline
        self.patchGroups = patchGroups
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// `POST /v1/baselines/{id}/patch-groups`.
public struct PatchGroupRequest: Codable, Sendable, Equatable {
    public var patchGroup: String

    public init(patchGroup: String) {
        self.patchGroup = patchGroup
    }
}

/// A patch group's baseline for one operating system.
public struct PatchGroupInfo: Codable, Sendable, Equatable {
    public var patchGroup: String
    public var operatingSystem: String
    public var baselineId: String

    public init(patchGroup: String, operatingSystem: String, baselineId: String) {
        self.patchGroup = patchGroup
        self.operatingSystem = operatingSystem
        self.baselineId = baselineId
    }
}

/// An instance's compliance (`tender compliance list`).
public struct ComplianceInfo: Codable, Sendable, Equatable {
    public var instanceId: String
    public var baselineId: String
    public var patchGroup: String?
    public var operatingSystem: String
    public var compliant: Bool
    public var installedCount: Int
    public var installedOtherCount: Int
    public var missingCount: Int
    public var failedCount: Int
    public var installedPendingRebootCount: Int
    public var installedRejectedCount: Int
    public var notApplicableCount: Int
    /// `Scan` or `Install`.
    public var lastOperation: String
    public var lastOperationAt: Date
    /// The patch run (a command) that made the report.
    public var commandId: String

    public init(instanceId: String, baselineId: String, patchGroup: String?, operatingSystem: String, compliant: Bool, installedCount: Int, installedOtherCount: Int,
                missingCount: Int, failedCount: Int, installedPendingRebootCount: Int, installedRejectedCount: Int, notApplicableCount: Int,
                lastOperation: String, lastOperationAt: Date, commandId: String) {
        self.instanceId = instanceId
        self.baselineId = baselineId
        self.patchGroup = patchGroup
        self.operatingSystem = operatingSystem
        self.compliant = compliant
        self.installedCount = installedCount
        self.installedOtherCount = installedOtherCount
        self.missingCount = missingCount
        self.failedCount = failedCount
        self.installedPendingRebootCount = installedPendingRebootCount
        self.installedRejectedCount = installedRejectedCount
        self.notApplicableCount = notApplicableCount
        self.lastOperation = lastOperation
        self.lastOperationAt = lastOperationAt
        self.commandId = commandId
    }
}

/// An instance's compliance with its packages and operations (`tender compliance show`):
/// the fields of `ComplianceInfo` at the top level, then `patches`, `truncated`,
/// `rebootRequired` and `history`.
public struct ComplianceDetail: Codable, Sendable, Equatable {
    public var compliance: ComplianceInfo
    public var patches: [PatchedPackage]
    /// The listed packages were cut at the report's limit; the counts cover all.
    public var truncated: Bool
    public var rebootRequired: Bool
    public var history: [Operation]

    public struct Operation: Codable, Sendable, Equatable {
        public var commandId: String
        public var baselineId: String
        public var operation: String
        public var at: Date
        public var compliant: Bool
        public var missingCount: Int
        public var failedCount: Int

        public init(commandId: String, baselineId: String, operation: String, at: Date, compliant: Bool, missingCount: Int, failedCount: Int) {
            self.commandId = commandId
            self.baselineId = baselineId
            self.operation = operation
            self.at = at
            self.compliant = compliant
            self.missingCount = missingCount
            self.failedCount = failedCount
        }
    }

    private enum CodingKeys: String, CodingKey {
        case patches, truncated, rebootRequired, history
    }

    public init(from decoder: any Decoder) throws {
        compliance = try ComplianceInfo(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        patches = try container.decode([PatchedPackage].self, forKey: .patches)
        truncated = try container.decode(Bool.self, forKey: .truncated)
        rebootRequired = try container.decode(Bool.self, forKey: .rebootRequired)
        history = try container.decode([Operation].self, forKey: .history)
    }

    public func encode(to encoder: any Encoder) throws {
        try compliance.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(patches, forKey: .patches)
        try container.encode(truncated, forKey: .truncated)
        try container.encode(rebootRequired, forKey: .rebootRequired)
        try container.encode(history, forKey: .history)
    }

    public init(compliance: ComplianceInfo, patches: [PatchedPackage], truncated: Bool, rebootRequired: Bool, history: [Operation]) {
        self.compliance = compliance
        self.patches = patches
        self.truncated = truncated
        self.rebootRequired = rebootRequired
        self.history = history
    }
}

/// One row of `tender compliance summary`: the instances of one patch group (nil:
/// none) patched with one baseline.
public struct ComplianceSummary: Codable, Sendable, Equatable {
    public static let topMissingCount = 10

    public var patchGroup: String?
    /// The baseline of their reports, or, for instances never scanned, the one they would get (nil: their system is unknown).
    public var baselineId: String?
    public var compliant: Int
    public var nonCompliant: Int
    public var notScanned: Int
    /// The packages most often missing, most first (at most 10).
    public var topMissing: [Missing]

    public struct Missing: Codable, Sendable, Equatable {
        public var name: String
        public var instances: Int

        public init(name: String, instances: Int) {
            self.name = name
            self.instances = instances
        }
    }

    public init(patchGroup: String?, baselineId: String?, compliant: Int, nonCompliant: Int, notScanned: Int, topMissing: [Missing]) {
        self.patchGroup = patchGroup
        self.baselineId = baselineId
        self.compliant = compliant
        self.nonCompliant = nonCompliant
        self.notScanned = notScanned
        self.topMissing = topMissing
    }
}
