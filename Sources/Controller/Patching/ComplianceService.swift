import Foundation
import TenderAPI
import TenderPatching
import TenderWire

/// Compliance: each instance's latest patch report, kept when a patch run's result
/// arrives (`ResultPayloadSink` for `PatchReport.kind`), and shown to operators. A
/// run that fails without a report leaves the last good one in place.
public struct ComplianceService: Sendable, ResultPayloadSink {
    let store: any ComplianceStore & InstanceStore
    let baselines: BaselineService

    init(store: any ComplianceStore & InstanceStore, baselines: BaselineService) {
        self.store = store
        self.baselines = baselines
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
        var record = ComplianceRecord(
            instanceID: instanceID, commandID: commandID, baselineID: report.baselineId, patchGroup: report.patchGroup,
            operatingSystem: report.operatingSystem.rawValue, operation: report.operation.rawValue, operationAt: endedAt, compliant: report.compliant,
            installedCount: c.installed, installedOtherCount: c.installedOther, installedPendingRebootCount: c.installedPendingReboot,
            installedRejectedCount: c.installedRejected, missingCount: c.missing, failedCount: c.failed, notApplicableCount: c.notApplicable,
            reportJSON: String(decoding: try JSON.encoder().encode(report), as: UTF8.self))
        record.missingNames = Array(report.packages.filter { $0.state == .missing }.map(\.name).prefix(ComplianceRecord.maxMissingNames))
        try await store.recordCompliance(record)
    }

    /// Per patch group and baseline: how many instances are compliant, non-compliant
    /// and never scanned, and the packages most often missing. An instance never
    /// scanned counts under the baseline it would get now (none if its system is unknown).
    public func summary() async throws -> [ComplianceSummary] {
        let instances = try await store.instances()
        let resolver = try await baselines.resolver()
        struct Key: Hashable { var group: String?; var baseline: String? }
        var rows: [Key: (compliant: Int, nonCompliant: Int, notScanned: Int, missing: [String: Int])] = [:]
        var records: [String: ComplianceRecord] = [:]
        for record in try await store.complianceRecords() { records[record.instanceID] = record }
        for instance in instances {
            let group = PatchRunVariants.patchGroup(of: instance)
            if let record = records[instance.id] {
                let key = Key(group: group, baseline: record.baselineID)
                var row = rows[key] ?? (0, 0, 0, [:])
                if record.compliant { row.compliant += 1 } else { row.nonCompliant += 1 }
                for name in Set(record.missingNames) { row.missing[name, default: 0] += 1 }
                rows[key] = row
            } else {
                let baseline = try PatchRunVariants.operatingSystem(of: instance).map { try resolver.resolve(patchGroup: group, operatingSystem: $0).id }
                let key = Key(group: group, baseline: baseline)
                var row = rows[key] ?? (0, 0, 0, [:])
                row.notScanned += 1
                rows[key] = row
            }
        }
        return rows.map { key, row in
            let top = row.missing.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(ComplianceSummary.topMissingCount)
            return ComplianceSummary(patchGroup: key.group, baselineId: key.baseline, compliant: row.compliant, nonCompliant: row.nonCompliant,
                                     notScanned: row.notScanned, topMissing: top.map { ComplianceSummary.Missing(name: $0.key, instances: $0.value) })
        }.sorted { ($0.patchGroup ?? "", $0.baselineId ?? "") < ($1.patchGroup ?? "", $1.baselineId ?? "") }
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
