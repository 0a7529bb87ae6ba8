import Foundation

/// Each instance's latest patch report (its compliance) and the history of its
/// patch operations.
public protocol ComplianceStore: Sendable {
    /// Stores `record` as the instance's compliance unless a later report is already
    /// stored, and adds it to the history. Recording the same command's report again
    /// changes nothing, so a result the agent resends is harmless.
    func recordCompliance(_ record: ComplianceRecord) async throws
    /// Every instance's compliance, by instance id.
    func complianceRecords() async throws -> [ComplianceRecord]
    func compliance(instanceID: String) async throws -> ComplianceRecord?
    /// The instance's patch operations, newest first (the last `ComplianceRecord.historyLimit` are kept).
    func complianceHistory(instanceID: String) async throws -> [ComplianceHistoryRecord]
}

/// One instance's patch report as stored.
public struct ComplianceRecord: Sendable, Equatable {
    /// How many operations the history keeps per instance.
    public static let historyLimit = 100

    public var instanceID: String
    public var commandID: String
    public var baselineID: String
    public var patchGroup: String?
    public var operatingSystem: String
    /// `Scan` or `Install`.
    public var operation: String
    /// When the run that made the report ended.
    public var operationAt: Date
    public var compliant: Bool
    public var installedCount: Int
    public var installedOtherCount: Int
    public var installedPendingRebootCount: Int
    public var installedRejectedCount: Int
    public var missingCount: Int
    public var failedCount: Int
    public var notApplicableCount: Int
    /// The whole `PatchReport`, as JSON.
    public var reportJSON: String
    /// The names of the packages with an update `MISSING` (at most `maxMissingNames`),
    /// for the fleet summary without reading every report.
    public var missingNames: [String] = []
    public static let maxMissingNames = 200

    public init(instanceID: String, commandID: String, baselineID: String, patchGroup: String?, operatingSystem: String, operation: String, operationAt: Date,
                compliant: Bool, installedCount: Int, installedOtherCount: Int, installedPendingRebootCount: Int, installedRejectedCount: Int,
                missingCount: Int, failedCount: Int, notApplicableCount: Int, reportJSON: String) {
        self.instanceID = instanceID
        self.commandID = commandID
        self.baselineID = baselineID
        self.patchGroup = patchGroup
        self.operatingSystem = operatingSystem
        self.operation = operation
        self.operationAt = operationAt
        self.compliant = compliant
        self.installedCount = installedCount
        self.installedOtherCount = installedOtherCount
        self.installedPendingRebootCount = installedPendingRebootCount
        self.installedRejectedCount = installedRejectedCount
        self.missingCount = missingCount
        self.failedCount = failedCount
        self.notApplicableCount = notApplicableCount
        self.reportJSON = reportJSON
    }
}

/// One patch operation in an instance's history.
public struct ComplianceHistoryRecord: Sendable, Equatable {
    public var commandID: String
    public var baselineID: String
    public var operation: String
    public var operationAt: Date
    public var compliant: Bool
    public var missingCount: Int
    public var failedCount: Int

    public init(commandID: String, baselineID: String, operation: String, operationAt: Date, compliant: Bool, missingCount: Int, failedCount: Int) {
        self.commandID = commandID
        self.baselineID = baselineID
        self.operation = operation
        self.operationAt = operationAt
        self.compliant = compliant
        self.missingCount = missingCount
        self.failedCount = failedCount
    }
}
