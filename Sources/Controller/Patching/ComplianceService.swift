import Foundation
import TenderAPI
import TenderPatching
import TenderWire

/// Compliance: each instance's latest patch report, kept when a patch run's result
/// arrives (`ResultPayloadSink` for `PatchReport.kind`), and shown to operators. A
/// run that fails without a report leaves the last good one in place.
public struct ComplianceService: Sendable, ResultPayloadSink {
    let store: any ComplianceStore

    init(store: any ComplianceStore) {
        self.store = store
    }

    func record(_ payload: StepPayload, commandID: String, instanceID: String, endedAt: Date) async throws {
        let report: PatchReport
        do {
            report = try payload.body.decode(PatchReport.self)
        } catch {
            // A report this controller cannot read (a newer agent's) is kept with the
            // invocation only; compliance stays as it was.
            return
        }
        let c = report.counts
        try await store.recordCompliance(ComplianceRecord(
            instanceID: instanceID, commandID: commandID, baselineID: report.baselineId, patchGroup: report.patchGroup,
            operatingSystem: report.operatingSystem.rawValue, operation: report.operation.rawValue, operationAt: endedAt, compliant: report.compliant,
            installedCount: c.installed, installedOtherCount: c.installedOther, installedPendingRebootCount: c.installedPendingReboot,
            installedRejectedCount: c.installedRejected, missingCount: c.missing, failedCount: c.failed, notApplicableCount: c.notApplicable,
            reportJSON: String(decoding: try JSON.encoder().encode(report), as: UTF8.self)))
    }

    public func list() async throws -> [ComplianceInfo] {
        try await store.complianceRecords().map(Self.info)
    }

    public func show(_ instanceID: String) async throws -> ComplianceDetail {
        guard let record = try await store.compliance(instanceID: instanceID) else {
            throw TenderError.notFound("instance \(String(instanceID.prefix(100))) has no patch report (no patch run has reported for it)")
        }
        let report = try? JSON.decoder().decode(PatchReport.self, from: Data(record.reportJSON.utf8))
        let history = try await store.complianceHistory(instanceID: instanceID).map {
            ComplianceDetail.Operation(commandId: $0.commandID, baselineId: $0.baselineID, operation: $0.operation, at: $0.operationAt,
                                       compliant: $0.compliant, missingCount: $0.missingCount, failedCount: $0.failedCount)
        }
        return ComplianceDetail(compliance: Self.info(record), patches: report?.packages ?? [], truncated: report?.truncated ?? false,
                                rebootRequired: report?.rebootRequired ?? false, history: history)
    }

    static func info(_ r: ComplianceRecord) -> ComplianceInfo {
        ComplianceInfo(instanceId: r.instanceID, baselineId: r.baselineID, patchGroup: r.patchGroup, operatingSystem: r.operatingSystem, compliant: r.compliant,
                       installedCount: r.installedCount, installedOtherCount: r.installedOtherCount, missingCount: r.missingCount, failedCount: r.failedCount,
                       installedPendingRebootCount: r.installedPendingRebootCount, installedRejectedCount: r.installedRejectedCount,
                       notApplicableCount: r.notApplicableCount, lastOperation: r.operation, lastOperationAt: r.operationAt, commandId: r.commandID)
    }
}
