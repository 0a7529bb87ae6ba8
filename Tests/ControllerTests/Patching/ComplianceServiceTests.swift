import Foundation
import Testing
@testable import Controller
import TenderAPI
import TenderPatching
import TenderWire

/// Compliance is kept from patch reports: the latest report wins, a resent result
/// changes nothing, an older report only joins the history, and the history is bounded.
@Suite("Patch compliance")
struct ComplianceServiceTests {
    static func report(_ operation: PatchOperation, missing: Int) throws -> StepPayload {
        let facts = (0..<missing).map { PackageFacts(name: "pkg\($0)", installed: PackageVersionFacts(version: "1"), update: PackageVersionFacts(version: "2", security: true)) }
            + [PackageFacts(name: "curl", installed: PackageVersionFacts(version: "8", security: true))]
        let report = PatchReport(operation: operation, evaluator: PatchEvaluator(baseline: PredefinedBaselines.baseline(for: .debian)), patchGroup: "web",
                                 product: "Debian12", facts: facts, rebootRequired: false)
        return StepPayload(step: "PatchLinux", kind: PatchReport.kind, body: try DocumentValue.from(report))
    }

    @Test("latest report wins, resends are harmless, older reports only join the history", arguments: StoreKind.tested)
    func latestWins(_ kind: StoreKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = try await database.open()
            do {
                try await store.migrate()
                let service = ComplianceService(store: store, baselines: BaselineService(store: store))
                let instance = "mi-00000000000000001"
                let t0 = Date(timeIntervalSince1970: 1_800_000_000)
                try await service.record(try Self.report(.scan, missing: 2), commandID: "c-scan", instanceID: instance, endedAt: t0)
                var list = try await service.list()
                #expect(list.count == 1)
                #expect(list.first?.compliant == false && list.first?.missingCount == 2 && list.first?.lastOperation == "Scan")
                #expect(list.first?.patchGroup == "web" && list.first?.baselineId == "pb-default-debian")

                try await service.record(try Self.report(.install, missing: 0), commandID: "c-install", instanceID: instance, endedAt: t0.addingTimeInterval(60))
                try await service.record(try Self.report(.install, missing: 0), commandID: "c-install", instanceID: instance, endedAt: t0.addingTimeInterval(60))
                // A report from before the install arrives late: history only.
                try await service.record(try Self.report(.scan, missing: 5), commandID: "c-old", instanceID: instance, endedAt: t0.addingTimeInterval(-60))
                list = try await service.list()
                #expect(list.first?.compliant == true && list.first?.commandId == "c-install")
                let detail = try await service.show(instance)
                #expect(detail.patches.map(\.name) == ["curl"])
                #expect(detail.patches.first?.state == .installed)
                #expect(detail.history.map(\.commandId) == ["c-install", "c-scan", "c-old"])

                // The history keeps the newest `historyLimit` operations.
                for i in 0..<(ComplianceRecord.historyLimit + 5) {
                    try await service.record(try Self.report(.scan, missing: 0), commandID: "c-\(i)", instanceID: instance, endedAt: t0.addingTimeInterval(Double(120 + i)))
                }
                let history = try await service.show(instance).history
                #expect(history.count == ComplianceRecord.historyLimit)
                #expect(history.first?.commandId == "c-\(ComplianceRecord.historyLimit + 4)")

                await #expect(throws: TenderError.self) { try await service.show("mi-00000000000000002") }

                // A payload this controller cannot read leaves compliance as it was.
                try await service.record(StepPayload(step: "PatchLinux", kind: PatchReport.kind, body: ["operation": "Defragment"]),
                                         commandID: "c-new", instanceID: instance, endedAt: t0.addingTimeInterval(10_000))
                #expect(try await service.list().first?.commandId == "c-\(ComplianceRecord.historyLimit + 4)")
            } catch {
                await store.shutdown()
                throw error
            }
            await store.shutdown()
        }
    }

    @Test("the API's compliance show has the list's fields at the top level, then patches and history")
    func detailShape() throws {
        let info = ComplianceInfo(instanceId: "mi-1", baselineId: "pb-default-debian", patchGroup: nil, operatingSystem: "DEBIAN", compliant: true, installedCount: 1,
                                  installedOtherCount: 0, missingCount: 0, failedCount: 0, installedPendingRebootCount: 0, installedRejectedCount: 0, notApplicableCount: 0,
                                  lastOperation: "Scan", lastOperationAt: Date(timeIntervalSince1970: 1_800_000_000), commandId: "c")
        let detail = ComplianceDetail(compliance: info, patches: [PatchedPackage(name: "curl", installedVersion: "8", availableVersion: nil, state: .installed)],
                                      truncated: false, rebootRequired: false, history: [])
        let data = try JSON.encoder().encode(detail)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["instanceId", "baselineId", "compliant", "installedCount", "missingCount", "failedCount", "installedPendingRebootCount",
                    "installedRejectedCount", "lastOperation", "lastOperationAt", "patches", "history"] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(try JSON.decoder().decode(ComplianceDetail.self, from: data) == detail)
    }
}
