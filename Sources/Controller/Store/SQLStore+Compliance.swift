import Foundation
import SQLKit
import TenderWire

/// Compliance and its history. The upsert is a delete and an insert in one
/// transaction: the same SQL on both databases.
extension SQLStore: ComplianceStore {
    public func recordCompliance(_ r: ComplianceRecord) async throws {
        try await backend.transaction { db in
            let existing = try await db.raw("SELECT command_id, operation_at FROM compliance WHERE instance_id = \(bind: r.instanceID)").first()
            let newer = try existing.map { try $0.decode(column: "operation_at", as: Int.self) <= Millis.from(r.operationAt) } ?? true
            if newer {
                try await db.raw("DELETE FROM compliance WHERE instance_id = \(bind: r.instanceID)").run()
                try await db.raw("""
                    INSERT INTO compliance (instance_id, command_id, baseline_id, patch_group, operating_system, operation, operation_at, compliant,
                        installed_count, installed_other_count, installed_pending_reboot_count, installed_rejected_count, missing_count, failed_count,
                        not_applicable_count, report_json, missing_names)
                    VALUES (\(bind: r.instanceID), \(bind: r.commandID), \(bind: r.baselineID), \(bind: r.patchGroup), \(bind: r.operatingSystem), \(bind: r.operation),
                        \(bind: Millis.from(r.operationAt)), \(bind: r.compliant ? 1 : 0), \(bind: r.installedCount), \(bind: r.installedOtherCount),
                        \(bind: r.installedPendingRebootCount), \(bind: r.installedRejectedCount), \(bind: r.missingCount), \(bind: r.failedCount),
                        \(bind: r.notApplicableCount), \(bind: r.reportJSON), \(bind: r.missingNames.prefix(ComplianceRecord.maxMissingNames).joined(separator: "\n")))
                    """).run()
            }
            let recorded = try await db.raw("""
                SELECT command_id FROM compliance_history WHERE instance_id = \(bind: r.instanceID) AND command_id = \(bind: r.commandID)
                """).first() != nil
            guard !recorded else { return }
            try await db.raw("""
                INSERT INTO compliance_history (instance_id, command_id, baseline_id, operation, operation_at, compliant, missing_count, failed_count)
                VALUES (\(bind: r.instanceID), \(bind: r.commandID), \(bind: r.baselineID), \(bind: r.operation), \(bind: Millis.from(r.operationAt)),
                    \(bind: r.compliant ? 1 : 0), \(bind: r.missingCount), \(bind: r.failedCount))
                """).run()
            // Bounded: only the newest operations of each instance are kept.
            try await db.raw("""
                DELETE FROM compliance_history WHERE instance_id = \(bind: r.instanceID) AND command_id NOT IN (
                    SELECT command_id FROM compliance_history WHERE instance_id = \(bind: r.instanceID)
                    ORDER BY operation_at DESC, command_id LIMIT \(bind: ComplianceRecord.historyLimit))
                """).run()
        }
    }

    public func complianceRecords() async throws -> [ComplianceRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM compliance ORDER BY instance_id").all().map(Self.compliance(from:))
        }
    }

    public func compliance(instanceID: String) async throws -> ComplianceRecord? {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM compliance WHERE instance_id = \(bind: instanceID)").first().map(Self.compliance(from:))
        }
    }

    public func complianceHistory(instanceID: String) async throws -> [ComplianceHistoryRecord] {
        try await backend.withDatabase { db in
            try await db.raw("""
                SELECT * FROM compliance_history WHERE instance_id = \(bind: instanceID) ORDER BY operation_at DESC, command_id
                """).all().map { row in
                ComplianceHistoryRecord(
                    commandID: try row.decode(column: "command_id", as: String.self),
                    baselineID: try row.decode(column: "baseline_id", as: String.self),
                    operation: try row.decode(column: "operation", as: String.self),
                    operationAt: Millis.date(try row.decode(column: "operation_at", as: Int.self)),
                    compliant: try row.decode(column: "compliant", as: Int.self) != 0,
                    missingCount: try row.decode(column: "missing_count", as: Int.self),
                    failedCount: try row.decode(column: "failed_count", as: Int.self))
            }
        }
    }

    private static func compliance(from row: any SQLRow) throws -> ComplianceRecord {
        var record = ComplianceRecord(
            instanceID: try row.decode(column: "instance_id", as: String.self),
            commandID: try row.decode(column: "command_id", as: String.self),
            baselineID: try row.decode(column: "baseline_id", as: String.self),
            patchGroup: try row.decode(column: "patch_group", as: String?.self),
            operatingSystem: try row.decode(column: "operating_system", as: String.self),
            operation: try row.decode(column: "operation", as: String.self),
            operationAt: Millis.date(try row.decode(column: "operation_at", as: Int.self)),
            compliant: try row.decode(column: "compliant", as: Int.self) != 0,
            installedCount: try row.decode(column: "installed_count", as: Int.self),
            installedOtherCount: try row.decode(column: "installed_other_count", as: Int.self),
            installedPendingRebootCount: try row.decode(column: "installed_pending_reboot_count", as: Int.self),
            installedRejectedCount: try row.decode(column: "installed_rejected_count", as: Int.self),
            missingCount: try row.decode(column: "missing_count", as: Int.self),
            failedCount: try row.decode(column: "failed_count", as: Int.self),
            notApplicableCount: try row.decode(column: "not_applicable_count", as: Int.self),
            reportJSON: try row.decode(column: "report_json", as: String.self))
        record.missingNames = (try row.decode(column: "missing_names", as: String?.self) ?? "").split(separator: "\n").map(String.init)
        return record
    }
}
