import Foundation
import Testing

/// Patch baselines through the CLI against a real controller: create with the
/// SPEC's options, validation by field path (exit 2), the predefined baselines,
/// defaults and patch groups, and refusals while a baseline is in use (exit 1).
@Suite("E2E: patch baselines")
struct BaselineTests {
    struct Info: Decodable {
        struct Rule: Decodable {
            struct Filter: Decodable {
                let key: String
                let values: [String]
            }

            let filters: [Filter]
            let complianceLevel: String?
            let enableNonSecurity: Bool?
        }

        let baselineId: String
        let name: String
        let operatingSystem: String
        let approvalRules: [Rule]
        let approvedPatches: [String]
        let rejectedPatches: [String]
        let rejectedPatchesAction: String
        let predefined: Bool
        let defaultBaseline: Bool
        let patchGroups: [String]
    }

    @Test("baselines are created, validated, made the default, given patch groups and protected while in use")
    func baselineLifecycle() async throws {
        try await withSandbox("baselines") { sb in
            let controller = try await sb.startController()
            let created = try await sb.tenderJSON(controller, [
                "baseline", "create", "--name", "web-security", "--os", "DEBIAN", "--approve", "PRIORITY=required,important",
                "--compliance-level", "HIGH", "--approved", "curl=8.0", "--rejected", "telnet", "--rejected-action", "BLOCK",
            ], as: Info.self)
            #expect(created.baselineId.hasPrefix("pb-"))
            #expect(created.approvalRules.first?.filters.first?.values == ["required", "important"])
            #expect(created.approvalRules.first?.complianceLevel == "HIGH")
            #expect(created.approvedPatches == ["curl=8.0"] && created.rejectedPatches == ["telnet"] && created.rejectedPatchesAction == "BLOCK")

            let list = try await sb.tenderJSON(controller, ["baseline", "list"], as: [Info].self)
            #expect(list.contains { $0.baselineId == "pb-default-debian" && $0.predefined && $0.defaultBaseline })
            #expect(list.contains { $0.baselineId == created.baselineId })

            // Every problem at once, by field path; nothing stored.
            let refused = try await sb.tender(controller, ["baseline", "create", "--name", "bad-one", "--os", "DEBIAN", "--approve", "SEVERITY=Critical",
                                                           "--rejected", "$(reboot)", "--rejected-action", "DROP"])
            #expect(refused.exitCode == 2, "\(refused)")
            for field in ["approvalRules[0].filters[0]: DEBIAN packages have no SEVERITY", "rejectedPatches[0]", "rejectedPatchesAction"] {
                #expect(refused.stderr.contains(field), "the error must name \(field):\n\(refused.stderr)")
            }
            #expect(try await sb.tenderJSON(controller, ["baseline", "list"], as: [Info].self).count == list.count)

            // Default and patch group.
            let defaulted = try await sb.tenderJSON(controller, ["baseline", "set-default", created.baselineId], as: Info.self)
            #expect(defaulted.defaultBaseline)
            #expect(try await sb.tender(controller, ["baseline", "register-patch-group", created.baselineId, "--patch-group", "web-servers"]).exitCode == 0)
            let shown = try await sb.tenderJSON(controller, ["baseline", "show", created.baselineId], as: Info.self)
            #expect(shown.patchGroups == ["web-servers"])
            #expect(try await sb.tenderJSON(controller, ["baseline", "show", "pb-default-debian"], as: Info.self).defaultBaseline == false)

            // In use, predefined or unknown: refused with exit 1.
            #expect(try await sb.tender(controller, ["baseline", "delete", created.baselineId]).exitCode == 1)
            #expect(try await sb.tender(controller, ["baseline", "delete", "pb-default-debian"]).exitCode == 1)
            #expect(try await sb.tender(controller, ["baseline", "show", "pb-00000000000000000"]).exitCode == 1)

            // An update changes only what is given.
            let updated = try await sb.tenderJSON(controller, ["baseline", "update", created.baselineId, "--non-security"], as: Info.self)
            #expect(updated.approvalRules.first?.enableNonSecurity == true)
            #expect(updated.approvalRules.first?.complianceLevel == "HIGH")

            #expect(try await sb.tender(controller, ["baseline", "deregister-patch-group", created.baselineId, "--patch-group", "web-servers"]).exitCode == 0)
            #expect(try await sb.tender(controller, ["baseline", "set-default", "pb-default-debian"]).exitCode == 0)
            #expect(try await sb.tender(controller, ["baseline", "delete", created.baselineId]).exitCode == 0)
            #expect(try await sb.tender(controller, ["baseline", "show", created.baselineId]).exitCode == 1)
        }
    }
}
