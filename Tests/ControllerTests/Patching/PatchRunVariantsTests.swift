import Foundation
import Testing
@testable import Controller
import TenderAPI
import TenderDocuments
import TenderPatching
import TenderWire

/// A patch run's steps per instance: the baseline of its patch group and operating
/// system in the patch step's inputs, one variant per distinct resolution.
@Suite("Patch runs: a baseline per instance")
struct PatchRunVariantsTests {
    static func instance(_ n: Int, id: String?, idLike: String? = nil, name: String? = nil, tags: [String: String] = [:]) -> InstanceRecord {
        InstanceRecord(id: String(format: "mi-%017x", n), name: "i\(n)", activationID: "a", registeredAt: Date(), certificateSerial: "s\(n)", certificateNotAfter: Date(),
                       platformName: name, tags: tags, platformID: id, platformIDLike: idLike)
    }

    @Test func eachInstanceGetsItsBaseline() async throws {
        try await BaselineServiceTests.with(.sqlite) { service in
            let web = try await service.create(BaselineRequest(name: "web", operatingSystem: "DEBIAN",
                                                               approvalRules: [BaselineRequest.Rule(filters: [BaselineRequest.Filter(key: "PRODUCT", values: ["*"])])]))
            _ = try await service.registerPatchGroup(web.baselineId, PatchGroupRequest(patchGroup: "web-servers"))
            let steps = try BuiltinDocuments.runPatchBaseline.resolvedSteps(parameters: ["operation": .string("Scan")])
            let instances = [
                Self.instance(1, id: "debian", tags: ["Patch Group": "web-servers"]),
                Self.instance(2, id: "debian", tags: ["PatchGroup": "web-servers"]),
                Self.instance(3, id: "debian"),
                Self.instance(4, id: "linuxmint", idLike: "ubuntu debian"),
                Self.instance(5, id: nil, name: "Rocky Linux"),
                Self.instance(6, id: "arch"),
            ]
            let assignment = try await PatchRunVariants(baselines: service).assign(steps, to: instances)
            func inputs(_ n: Int) throws -> DocumentValue {
                let name = try #require(assignment.variantOf[instances[n - 1].id])
                return try #require(assignment.variants[name]?.first?.inputs)
            }
            #expect(try inputs(1)["baseline"]?["id"] == .string(web.baselineId))
            #expect(try inputs(1)["patchGroup"] == "web-servers")
            #expect(assignment.variantOf[instances[0].id] == assignment.variantOf[instances[1].id], "both tag spellings name the group; alike resolutions share a variant")
            #expect(try inputs(3)["baseline"]?["id"] == "pb-default-debian")
            #expect(try inputs(4)["baseline"]?["id"] == "pb-default-debian", "ID_LIKE debian")
            #expect(try inputs(5)["baseline"]?["id"] == "pb-default-rocky-linux", "an older agent: its platform name")
            #expect(try inputs(6)["baseline"] == nil)
            #expect(try inputs(6)["unresolved"]?.stringValue?.contains("cannot tell which system instance \(instances[5].id) patches") == true)
            #expect(try inputs(1)["operation"] == "Scan", "the document's own inputs stay")
            #expect(assignment.variants.count == 4, "web, the Debian default (two instances), Rocky, unresolved")
        }
    }
}
