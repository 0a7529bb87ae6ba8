import Foundation
import Testing

/// Custom command documents through the CLI: validation before storage, versions,
/// built-ins read-only.
@Suite("E2E: documents")
struct DocumentTests {
    struct Info: Decodable {
        let name: String
        let version: Int
        let builtin: Bool
        let content: String?
    }

    static let valid = """
    schemaVersion: "2.2"
    description: Restart a service
    parameters:
      service:
        type: String
        allowedPattern: "^[a-z0-9-]+$"
    mainSteps:
      - action: aws:runShellScript
        name: restart
        inputs:
          runCommand:
            - systemctl restart {{ service }}
    """

    @Test("documents are validated in full, versioned, and built-ins cannot be changed")
    func documentLifecycle() async throws {
        try await withSandbox("documents") { sb in
            let controller = try await sb.startController()
            let file = sb.url("Restart-Service.yaml")
            try Self.valid.write(to: file, atomically: true, encoding: .utf8)
            let created = try await sb.tenderJSON(controller, ["document", "create", "--file", file.path], as: Info.self)
            #expect(created.name == "Restart-Service" && created.version == 1)

            try (Self.valid + "      - echo done\n").write(to: file, atomically: true, encoding: .utf8)
            let updated = try await sb.tenderJSON(controller, ["document", "update", "--file", file.path], as: Info.self)
            #expect(updated.version == 2)
            let v1 = try await sb.tenderJSON(controller, ["document", "show", "Restart-Service", "--version", "1"], as: Info.self)
            #expect(v1.content == Self.valid)

            let list = try await sb.tenderJSON(controller, ["document", "list"], as: [Info].self)
            #expect(list.map(\.name) == ["Tender-RunShellScript", "Tender-RunPatchBaseline", "Restart-Service"])
            #expect(list.prefix(2).filter(\.builtin).count == 2)

            // An invalid document: every problem named, exit 2, nothing stored.
            let bad = sb.url("Broken.yaml")
            try """
            schemaVersion: "2.2"
            parameters:
              count:
                type: Number
              name:
                type: String
                default: "UPPER"
                allowedPattern: "^[a-z]+$"
            mainSteps:
              - action: aws:doesNotExist
                name: first
                inputs: {}
            """.write(to: bad, atomically: true, encoding: .utf8)
            let refused = try await sb.tender(controller, ["document", "create", "--file", bad.path])
            #expect(refused.exitCode == 2, "\(refused)")
            for field in ["parameters.count.type", "parameters.name.default", "mainSteps[0].action"] {
                #expect(refused.stderr.contains(field), "the error must name \(field):\n\(refused.stderr)")
            }
            try "schemaVersion: '2.2'\n".write(to: bad, atomically: true, encoding: .utf8)
            let noSteps = try await sb.tender(controller, ["document", "create", "--file", bad.path])
            #expect(noSteps.exitCode == 2)
            #expect(noSteps.stderr.contains("mainSteps"), "\(noSteps.stderr)")
            let afterRefusals = try await sb.tenderJSON(controller, ["document", "list"], as: [Info].self)
            #expect(!afterRefusals.contains { $0.name == "Broken" }, "a refused document must not be stored")

            // Built-ins are read-only; unknown names are 404 (exit 1).
            let builtinFile = sb.url("Tender-RunShellScript.yaml")
            try Self.valid.write(to: builtinFile, atomically: true, encoding: .utf8)
            #expect(try await sb.tender(controller, ["document", "update", "--file", builtinFile.path]).exitCode == 1)
            #expect(try await sb.tender(controller, ["document", "delete", "Tender-RunShellScript"]).exitCode == 1)
            #expect(try await sb.tender(controller, ["document", "show", "No-Such-Doc"]).exitCode == 1)
            let shown = try await sb.tenderJSON(controller, ["document", "show", "Tender-RunShellScript"], as: Info.self)
            #expect(shown.content?.contains("runShellScript") == true)

            #expect(try await sb.tender(controller, ["document", "delete", "Restart-Service"]).exitCode == 0)
            #expect(try await sb.tender(controller, ["document", "show", "Restart-Service"]).exitCode == 1)
        }
    }
}
