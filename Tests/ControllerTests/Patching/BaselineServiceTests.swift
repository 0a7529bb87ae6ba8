import Foundation
import Testing
@testable import Controller
import TenderAPI
import TenderPatching
import TenderWire

/// Baselines through the service on both stores: validation by field path, the
/// predefined ones read-only, defaults, patch groups, and which baseline an
/// instance resolves to.
@Suite("Patch baselines")
struct BaselineServiceTests {
    static func with(_ kind: StoreKind, _ body: (BaselineService) async throws -> Void) async throws {
        try await TestDatabase.with(kind) { database in
            let store = try await database.open()
            do {
                try await store.migrate()
                try await body(BaselineService(store: store))
            } catch {
                await store.shutdown()
                throw error
            }
            await store.shutdown()
        }
    }

    static let web = BaselineRequest(
        name: "web-security", operatingSystem: "DEBIAN", description: "web servers",
        approvalRules: [BaselineRequest.Rule(filters: [BaselineRequest.Filter(key: "PRIORITY", values: ["required", "important"])], complianceLevel: "HIGH")],
        approvedPatches: ["curl=8.0"], rejectedPatches: ["telnet"], rejectedPatchesAction: "BLOCK")

    @Test("create, show, list, update and delete", arguments: StoreKind.tested)
    func lifecycle(_ kind: StoreKind) async throws {
        try await Self.with(kind) { service in
            let created = try await service.create(Self.web)
            #expect(created.baselineId.hasPrefix("pb-") && created.baselineId.count == 20)
            #expect(created.approvalRules.first?.filters.first?.values == ["required", "important"])
            #expect(created.approvedPatches == ["curl=8.0"])
            #expect(created.rejectedPatchesAction == "BLOCK")
            #expect(!created.predefined && !created.defaultBaseline)
            #expect(try await service.show(created.baselineId) == created)

            let list = try await service.list()
            #expect(list.filter(\.predefined).count == PatchOperatingSystem.allCases.count)
            #expect(list.filter(\.predefined).allSatisfy { $0.defaultBaseline }, "predefined baselines are the defaults until another is set")
            #expect(list.contains(created))

            var changed = Self.web
            changed.name = "web-all"
            changed.approvalRules?[0].enableNonSecurity = true
            let updated = try await service.update(created.baselineId, changed)
            #expect(updated.name == "web-all")
            #expect(updated.approvalRules.first?.enableNonSecurity == true)
            #expect(updated.createdAt == created.createdAt)

            changed.operatingSystem = "UBUNTU"
            await #expect(throws: TenderError.self) { try await service.update(created.baselineId, changed) }
            await #expect(throws: TenderError(.conflict, "a baseline named 'web-all' already exists")) {
                var again = Self.web
                again.name = "web-all"
                _ = try await service.create(again)
            }

            try await service.delete(created.baselineId)
            await #expect(throws: TenderError.notFound("baseline \(created.baselineId) does not exist")) { try await service.show(created.baselineId) }
        }
    }

    @Test("every problem of a request is reported with its path, and nothing is stored")
    func validation() async throws {
        try await Self.with(.sqlite) { service in
            let bad = BaselineRequest(
                name: "x", operatingSystem: "WINDOWS",
                approvalRules: [BaselineRequest.Rule(filters: [BaselineRequest.Filter(key: "COLOUR", values: ["red"])], complianceLevel: "URGENT")],
                approvedPatches: ["$(reboot)"], rejectedPatchesAction: "DROP")
            do {
                _ = try await service.create(bad)
                Issue.record("created a baseline from a bad request")
            } catch let error as TenderError {
                #expect(error.code == .validation)
                let lines = error.message.split(separator: "\n").map(String.init)
                #expect(lines.contains("name: must be 3 to 128 of letters, digits, - _ and ."))
                #expect(lines.contains { $0.hasPrefix("operatingSystem: \"WINDOWS\" is not one of DEBIAN, UBUNTU") })
                #expect(lines.contains { $0.hasPrefix("approvalRules[0].filters[0].key: \"COLOUR\" is not one of") })
                #expect(lines.contains { $0.hasPrefix("approvalRules[0].complianceLevel: \"URGENT\" is not one of CRITICAL") })
                #expect(lines.contains { $0.hasPrefix("approvedPatches[0]: \"$(reboot)\" is not a package name") })
                #expect(lines.contains("rejectedPatchesAction: \"DROP\" is not one of ALLOW_AS_DEPENDENCY, BLOCK"))
            }
            // Keys the operating system's packages do not have.
            var wrongKey = Self.web
            wrongKey.approvalRules = [BaselineRequest.Rule(filters: [BaselineRequest.Filter(key: "SEVERITY", values: ["Critical"])])]
            await #expect(throws: TenderError.validation("approvalRules[0].filters[0]: DEBIAN packages have no SEVERITY; filter on PRODUCT, PRIORITY, SECTION, NAME")) {
                try await service.create(wrongKey)
            }
            #expect(try await service.list().allSatisfy { $0.predefined })
        }
    }

    @Test("predefined baselines are read-only; defaults and patch groups decide what an instance gets", arguments: StoreKind.tested)
    func resolution(_ kind: StoreKind) async throws {
        try await Self.with(kind) { service in
            let predefined = PredefinedBaselines.id(for: .debian)
            await #expect(throws: TenderError.self) { try await service.delete(predefined) }
            await #expect(throws: TenderError.self) { try await service.update(predefined, Self.web) }
            #expect(try await service.resolve(patchGroup: nil, operatingSystem: .debian).id == predefined)

            let web = try await service.create(Self.web)
            var fleetRequest = Self.web
            fleetRequest.name = "fleet-default"
            let fleet = try await service.create(fleetRequest)
            _ = try await service.setDefault(fleet.baselineId)
            #expect(try await service.show(fleet.baselineId).defaultBaseline)
            #expect(try await service.show(predefined).defaultBaseline == false)
            _ = try await service.registerPatchGroup(web.baselineId, PatchGroupRequest(patchGroup: "web-servers"))
            #expect(try await service.show(web.baselineId).patchGroups == ["web-servers"])
            #expect(try await service.patchGroups() == [PatchGroupInfo(patchGroup: "web-servers", operatingSystem: "DEBIAN", baselineId: web.baselineId)])

            #expect(try await service.resolve(patchGroup: "web-servers", operatingSystem: .debian).id == web.baselineId)
            #expect(try await service.resolve(patchGroup: "db-servers", operatingSystem: .debian).id == fleet.baselineId, "no group baseline: the default")
            #expect(try await service.resolve(patchGroup: nil, operatingSystem: .debian).id == fleet.baselineId)
            #expect(try await service.resolve(patchGroup: "web-servers", operatingSystem: .ubuntu).id == PredefinedBaselines.id(for: .ubuntu),
                    "the group has no Ubuntu baseline and Ubuntu has no default set")

            // One baseline per group and operating system; what is in use is not deleted.
            await #expect(throws: TenderError.self) { try await service.registerPatchGroup(fleet.baselineId, PatchGroupRequest(patchGroup: "web-servers")) }
            await #expect(throws: TenderError.self) { try await service.delete(web.baselineId) }
            await #expect(throws: TenderError.self) { try await service.delete(fleet.baselineId) }
            try await service.deregisterPatchGroup(web.baselineId, "web-servers")
            await #expect(throws: TenderError.self) { try await service.deregisterPatchGroup(web.baselineId, "web-servers") }
            try await service.delete(web.baselineId)
            _ = try await service.setDefault(predefined)
            try await service.delete(fleet.baselineId)
            #expect(try await service.resolve(patchGroup: "web-servers", operatingSystem: .debian).id == predefined)
        }
    }
}
