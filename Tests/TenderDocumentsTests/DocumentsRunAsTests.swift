import Testing
@testable import TenderDocuments
@testable import TenderWire

@Suite("Documents: run as user")
struct DocumentsRunAsTests {
    @Test func runAsUserIsCarriedAndChecked() throws {
        let document = try DocumentParser.parse(text: """
            schemaVersion: "2.2"
            parameters:
              user: {type: String, default: deploy}
            mainSteps:
              - action: aws:runShellScript
                name: asUser
                inputs:
                  runCommand: [whoami]
                  runAsUser: "{{ user }}"
            """)
        let steps = try document.resolvedSteps(parameters: [:])
        #expect(try steps[0].shellScriptInputs().runAsUser == "deploy")
        let problems = DocumentParser.problems(in: """
            schemaVersion: "2.2"
            mainSteps:
              - action: aws:runShellScript
                name: bad
                inputs: {runCommand: [whoami], runAsUser: "root; rm -rf /"}
            """)
        #expect(problems.contains { $0.path == "mainSteps[0].inputs.runAsUser" }, "\(problems)")
    }
}
