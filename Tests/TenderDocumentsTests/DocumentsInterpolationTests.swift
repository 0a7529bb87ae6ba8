import Foundation
import Testing
@testable import TenderDocuments
@testable import TenderWire

@Suite("Document interpolation")
struct DocumentsInterpolationTests {
    static let document = try! DocumentParser.parse(text: """
        schemaVersion: '2.2'
        parameters:
          commands: {type: StringList}
          greeting: {type: String, default: hello}
          seconds: {type: String, default: '60'}
          count: {type: Integer, default: 2}
        mainSteps:
          - action: aws:runShellScript
            name: run
            inputs:
              runCommand:
                - echo {{greeting}} {{   greeting	}}
                - '{{ commands }}'
                - echo done {{count}}
                - docker ps --format '{{.Names}}' {{ not closed
              timeoutSeconds: '{{ seconds }}'
              workingDirectory: /srv/{{ greeting }}
          - action: tender:runPatchBaseline
            name: patch
            onFailure: successAndExit
            inputs:
              nested: {list: ['{{ commands }}', x], text: '{{greeting}}!', number: 5}
              whole: '{{ commands }}'
        """)

    @Test func replacesReferencesAndExpandsLists() throws {
        let steps = try Self.document.resolvedSteps(parameters: ["commands": .list(["uptime", "df -h"])])
        #expect(steps.count == 2)
        #expect(steps[0].inputs == [
            "runCommand": [
                "echo hello hello", "uptime", "df -h", "echo done 2", "docker ps --format '{{.Names}}' {{ not closed",
            ],
            "timeoutSeconds": 60,
            "workingDirectory": "/srv/hello",
        ])
        #expect(steps[1].inputs == [
            "nested": ["list": ["uptime", "df -h", "x"], "text": "hello!", "number": 5],
            "whole": ["uptime", "df -h"],
        ])
        #expect(steps[1].onFailure == .successAndExit)
        #expect(steps[0].action == "aws:runShellScript" && steps[0].name == "run")
    }

    @Test func substitutedValuesAreNotInterpolatedAgain() throws {
        let steps = try Self.document.resolvedSteps(parameters: [
            "commands": .list(["echo {{ greeting }}", "{{ commands }}"]), "greeting": .string("{{ count }}"),
        ])
        let lines = try steps[0].shellScriptInputs().runCommand
        #expect(lines == [
            "echo {{ count }} {{ count }}", "echo {{ greeting }}", "{{ commands }}", "echo done 2",
            "docker ps --format '{{.Names}}' {{ not closed",
        ])
    }

    @Test func parametersAreResolvedFirst() {
        #expect(throws: TenderError.self) { try Self.document.resolvedSteps(parameters: [:]) }
        #expect(throws: TenderError.self) {
            try Self.document.resolvedSteps(parameters: ["commands": .list(["x"]), "count": .string("two")])
        }
    }

    @Test func timeoutIsCheckedAfterInterpolation() throws {
        do {
            _ = try Self.document.resolvedSteps(parameters: ["commands": .list(["x"]), "seconds": .string("3")])
            Issue.record("expected a validation error")
        } catch let error as TenderError {
            #expect(error.message == "mainSteps[0].inputs.timeoutSeconds: 3 is outside 5...172800 seconds")
        }
        do {
            _ = try Self.document.resolvedSteps(parameters: ["commands": .list(["x"]), "seconds": .string("soon")])
            Issue.record("expected a validation error")
        } catch let error as TenderError {
            #expect(error.message == "mainSteps[0].inputs.timeoutSeconds: 'soon' is not a whole number of seconds")
        }
    }

    @Test func unknownReferencesAreErrors() {
        // Parsing refuses them; interpolation refuses them too, for a step built any other way.
        #expect(problemPaths("""
            schemaVersion: '2.2'
            mainSteps: [{action: tender:runPatchBaseline, name: a, inputs: {x: ['ok', 'uses {{ ghost }}']}}]
            """) == ["mainSteps[0].inputs.x[1]"])
        var problems = ProblemList()
        let result = CommandDocument.interpolate(
            ["a": "{{ ghost }}", "b": ["{{ list }} inside"]], with: ["list": .list(["1"])], at: "inputs", into: &problems)
        #expect(result == nil)
        #expect(problems.items.map(\.description) == [
            "inputs.a: references undeclared parameter 'ghost'",
            "inputs.b[0]: parameter 'list' is a StringList; it must stand alone as a whole value or list item, not inside other text",
        ])
    }

    @Test func shellInputsAreNormalised() throws {
        let document = try DocumentParser.parse(text: """
            schemaVersion: '2.2'
            parameters:
              dir: {type: String, default: ''}
            mainSteps:
              - {action: tender:runShellScript, name: a, inputs: {runCommand: 'echo one', workingDirectory: '{{ dir }}'}}
            """)
        let step = try #require(try document.resolvedSteps(parameters: [:]).first)
        #expect(step.inputs == ["runCommand": ["echo one"], "timeoutSeconds": 3600], "empty directory dropped, default timeout filled in")
        #expect(try step.shellScriptInputs() == RunShellScriptInputs(runCommand: ["echo one"]))
        #expect(step.kind == .runShellScript)
    }

    @Test func resolvedStepsTravelAsJSON() throws {
        let steps = try Self.document.resolvedSteps(parameters: ["commands": .list(["uptime"])])
        let data = try JSON.encoder().encode(steps)
        #expect(try JSON.decode([ResolvedStep].self, from: data) == steps)

        let patch = try BuiltinDocuments.runPatchBaseline.resolvedSteps(parameters: ["operation": .string("Scan")])[0]
        let text = String(decoding: try JSON.encoder().encode(patch), as: UTF8.self)
        #expect(text == #"{"action":"tender:runPatchBaseline","finallyStep":false,"inputs":{"installOverrideList":[],"operation":"Scan","rebootOption":"RebootIfNeeded"},"name":"PatchLinux","precondition":{"StringEquals":["platformType","Linux"]}}"#)
    }

    @Test func malformedShellInputsFromTheWireAreRefused() {
        let step = ResolvedStep(action: "aws:runShellScript", name: "x", inputs: ["runCommand": [1], "timeoutSeconds": "9"])
        #expect(throws: TenderError.self) { try step.shellScriptInputs() }
        #expect(ResolvedStep(action: "tender:future", name: "y", inputs: [:]).kind == nil)
    }

    @Test func templateSplitting() {
        #expect(ParameterTemplate("a {{b}} {{ c }}").references == ["b", "c"])
        #expect(ParameterTemplate(" {{ b }}").soleReference == nil)
        #expect(ParameterTemplate("{{\tb }}").soleReference == "b")
        #expect(ParameterTemplate("{{ a-b }} {{}} {{ 9 }").references == [])
        #expect(ParameterTemplate("{{{ x }}}").render(["x": .string("v")]) == "{v}")
        #expect(ParameterTemplate("").render([:]) == "")
    }
}
