import Testing
@testable import TenderDocuments
@testable import TenderWire

@Suite("Built-in documents")
struct BuiltinDocumentsTests {
    @Test func bothParse() {
        #expect(BuiltinDocuments.names.allSatisfy { BuiltinDocuments.document(named: $0) != nil })
        #expect(BuiltinDocuments.isBuiltin("Tender-RunShellScript"))
        #expect(!BuiltinDocuments.isBuiltin("AWS-RunShellScript"))
        for name in BuiltinDocuments.names {
            #expect(DocumentParser.problems(in: BuiltinDocuments.texts[name]!) == [])
        }
    }

    @Test func runShellScriptDeclaresWhatTheSpecSays() throws {
        let document = BuiltinDocuments.runShellScript
        #expect(document.parameters.map(\.name) == ["commands", "workingDirectory", "executionTimeout"])
        let commands = try #require(document.parameter(named: "commands"))
        #expect(commands.type == .stringList && commands.isRequired && commands.description == "one shell line each")
        #expect(document.parameter(named: "workingDirectory")?.defaultValue == .string(""))
        #expect(document.parameter(named: "executionTimeout")?.defaultValue == .string("3600"))
        #expect(document.mainSteps.map(\.name) == ["runShellScript"])
        #expect(document.mainSteps[0].action == "aws:runShellScript")
    }

    @Test func runShellScriptResolves() throws {
        let steps = try BuiltinDocuments.runShellScript.resolvedSteps(parameters: ["commands": .list(["echo hi"])])
        #expect(steps.count == 1)
        #expect(steps[0].inputs == ["runCommand": ["echo hi"], "timeoutSeconds": 3600])
        #expect(try steps[0].shellScriptInputs() == RunShellScriptInputs(runCommand: ["echo hi"], timeoutSeconds: 3600))

        let custom = try BuiltinDocuments.runShellScript.resolvedSteps(parameters: [
            "commands": .string("pwd"), "workingDirectory": .string("/var/tmp"), "executionTimeout": .string("172800"),
        ])
        #expect(custom[0].inputs == ["runCommand": ["pwd"], "timeoutSeconds": 172_800, "workingDirectory": "/var/tmp"])
    }

    @Test(arguments: ["0", "172801", "99999999", "10s", "-5", "007", ""])
    func executionTimeoutPatternRefuses(_ value: String) {
        #expect(throws: TenderError.self) {
            try BuiltinDocuments.runShellScript.resolveParameters(["commands": .list(["x"]), "executionTimeout": .string(value)])
        }
    }

    @Test(arguments: ["1", "5", "99999", "100000", "169999", "171999", "172799", "172800"])
    func executionTimeoutPatternAccepts(_ value: String) throws {
        _ = try BuiltinDocuments.runShellScript.resolveParameters(["commands": .list(["x"]), "executionTimeout": .string(value)])
    }

    @Test func runShellScriptNeedsCommands() {
        do {
            _ = try BuiltinDocuments.runShellScript.resolvedSteps(parameters: [:])
            Issue.record("expected an error")
        } catch let error as TenderError {
            #expect(error.message == "parameter 'commands': is required and has no default")
        } catch {
            Issue.record("unexpected \(error)")
        }
        do {
            _ = try BuiltinDocuments.runShellScript.resolvedSteps(parameters: ["commands": .list([])])
            Issue.record("expected an error")
        } catch let error as TenderError {
            #expect(error.message == "parameter 'commands': has 0 items, fewer than minItems 1")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func runPatchBaselineResolves() throws {
        let document = BuiltinDocuments.runPatchBaseline
        #expect(document.parameter(named: "operation")?.isRequired == true)
        #expect(document.parameter(named: "operation")?.allowedValues == ["Scan", "Install"])
        #expect(document.parameter(named: "rebootOption")?.allowedValues == ["RebootIfNeeded", "NoReboot"])
        let steps = try document.resolvedSteps(parameters: ["operation": .string("Install"), "rebootOption": .string("NoReboot")])
        #expect(steps.map(\.name) == ["PatchLinux"])
        #expect(steps[0].kind == .runPatchBaseline && steps[0].precondition == .linux)
        #expect(steps[0].inputs == ["operation": "Install", "rebootOption": "NoReboot", "installOverrideList": []])
        let listed = try document.resolvedSteps(parameters: ["operation": .string("Install"), "installOverrideList": .list(["curl", "libssl3=3.0.11-1"])])
        #expect(listed[0].inputs["installOverrideList"] == ["curl", "libssl3=3.0.11-1"])
        #expect(throws: TenderError.self) { try document.resolvedSteps(parameters: ["operation": .string("Upgrade")]) }
        #expect(throws: TenderError.self) { try document.resolvedSteps(parameters: [:]) }
    }
}
