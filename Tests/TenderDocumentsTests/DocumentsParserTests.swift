import Foundation
import Testing
@testable import TenderDocuments
@testable import TenderWire

/// Paths of the problems `text` has, for compact expectations.
func problemPaths(_ text: String, _ format: DocumentFormat = .auto) -> [String] {
    DocumentParser.problems(in: text, format: format).map(\.path)
}

@Suite("Document parsing")
struct DocumentsParserTests {
    static let yaml = """
        schemaVersion: "2.2"
        description: Restart a service
        parameters:
          service:
            type: String
            description: unit name
            allowedPattern: '[a-z][a-z0-9-]*'
            maxChars: 40
          extra:
            type: StringList
            default: []
            maxItems: 5
          count:
            type: Integer
            default: 3
          dryRun:
            type: Boolean
            default: false
            allowedValues: ["true", "false"]
        mainSteps:
          - action: aws:runShellScript
            name: restart
            precondition:
              StringEquals: [platformType, Linux]
            onFailure: exit
            inputs:
              runCommand:
                - systemctl restart {{ service }}
                - '{{ extra }}'
              timeoutSeconds: 60
          - action: tender:runShellScript
            name: report.status-1
            onFailure: Abort
            onSuccess: exit
            finallyStep: true
            inputs:
              runCommand: systemctl status {{service}}
              workingDirectory: /tmp
        """

    static let json = """
        {
          "schemaVersion": "2.2",
          "description": "Restart a service",
          "parameters": {
            "service": {"type": "String", "description": "unit name", "allowedPattern": "[a-z][a-z0-9-]*", "maxChars": 40},
            "extra": {"type": "StringList", "default": [], "maxItems": 5},
            "count": {"type": "Integer", "default": "3"},
            "dryRun": {"type": "Boolean", "default": false, "allowedValues": ["true", "false"]}
          },
          "mainSteps": [
            {
              "action": "aws:runShellScript", "name": "restart",
              "precondition": {"StringEquals": ["platformType", "Linux"]}, "onFailure": "exit",
              "inputs": {"runCommand": ["systemctl restart {{ service }}", "{{ extra }}"], "timeoutSeconds": 60}
            },
            {
              "action": "tender:runShellScript", "name": "report.status-1", "onFailure": "exit", "onSuccess": "exit",
              "finallyStep": true,
              "inputs": {"runCommand": "systemctl status {{service}}", "workingDirectory": "/tmp"}
            }
          ]
        }
        """

    @Test func yamlAndJSONParseToTheSameModel() throws {
        let fromYAML = try DocumentParser.parse(text: Self.yaml, format: .yaml)
        let fromJSON = try DocumentParser.parse(text: Self.json, format: .json)
        #expect(fromYAML == fromJSON)
        #expect(try DocumentParser.parse(text: Self.yaml) == fromYAML, "auto picks YAML")
        #expect(try DocumentParser.parse(text: "\n  " + Self.json) == fromJSON, "auto picks JSON for a leading {")

        #expect(fromYAML.schemaVersion == "2.2")
        #expect(fromYAML.description == "Restart a service")
        #expect(fromYAML.parameters.map(\.name) == ["service", "extra", "count", "dryRun"], "declaration order is kept")
        let service = try #require(fromYAML.parameter(named: "service"))
        #expect(service.type == .string && service.isRequired && service.maxChars == 40)
        #expect(service.allowedPattern == "[a-z][a-z0-9-]*")
        #expect(fromYAML.parameter(named: "extra")?.defaultValue == .list([]))
        #expect(fromYAML.parameter(named: "count")?.defaultValue == .string("3"))
        #expect(fromYAML.parameter(named: "dryRun")?.defaultValue == .string("false"))

        #expect(fromYAML.mainSteps.map(\.name) == ["restart", "report.status-1"])
        let first = fromYAML.mainSteps[0]
        #expect(first.kind == .runShellScript && first.precondition == .linux && first.onFailure == .exit)
        #expect(first.inputs["timeoutSeconds"] == .integer(60))
        #expect(first.inputs["runCommand"] == ["systemctl restart {{ service }}", "{{ extra }}"])
        let second = fromYAML.mainSteps[1]
        #expect(second.onFailure == .exit, "Abort is read as exit")
        #expect(second.onSuccess == .exit && second.finallyStep)
        #expect(second.kind == .runShellScript)
    }

    @Test func schemaVersionTwoPointZeroAndUnquotedNumbersAreAccepted() throws {
        let document = try DocumentParser.parse(text: """
            schemaVersion: 2.0
            mainSteps:
              - {action: tender:runPatchBaseline, name: p}
            """)
        #expect(document.schemaVersion == "2.0")
        #expect(document.mainSteps[0].inputs == .object([:]))
        #expect(document.parameters.isEmpty)
    }

    @Test func yamlScalarsFollowTheCoreSchema() throws {
        let document = try DocumentParser.parse(text: """
            schemaVersion: '2.2'
            parameters:
              answer:
                type: String
                allowedValues: [Yes, No, on, 'true']
                default: Yes
            mainSteps:
              - action: tender:runPatchBaseline
                name: p
                inputs:
                  a: yes
                  b: true
                  c: ~
                  d: '5'
                  e: 5
                  f: -7
                  g: "x"
                  h: ! 5
                  i: !!str true
                  j: |
                    5
            """)
        #expect(document.parameter(named: "answer")?.allowedValues == ["Yes", "No", "on", "true"], "YAML 1.1 booleans stay text")
        #expect(document.mainSteps[0].inputs == [
            "a": "yes", "b": true, "c": nil, "d": "5", "e": 5, "f": -7, "g": "x", "h": "5", "i": "true", "j": "5",
        ])
    }

    @Test func displayTypeFromSSMDocumentsIsAccepted() throws {
        let document = try DocumentParser.parse(text: """
            {"schemaVersion": "2.2", "parameters": {"commands": {"type": "StringList", "displayType": "textarea"}},
             "mainSteps": [{"action": "aws:runShellScript", "name": "s", "inputs": {"runCommand": "{{ commands }}"}}]}
            """)
        #expect(document.parameters.map(\.name) == ["commands"])
    }

    // MARK: Invalid documents

    @Test(arguments: [
        // (document, expected path)
        ("schemaVersion: '2.2'\nmainSteps: []", "mainSteps"),
        ("schemaVersion: '2.2'", "mainSteps"),
        ("schemaVersion: '1.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "schemaVersion"),
        ("mainSteps: [{action: tender:runPatchBaseline, name: a}]", "schemaVersion"),
        ("schemaVersion: '2.2'\nmainStep: []\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "mainStep"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runPowerShellScript, name: a}]", "mainSteps[0].action"),
        ("schemaVersion: '2.2'\nmainSteps: [{name: a}]", "mainSteps[0].action"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline}]", "mainSteps[0].name"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: 'has space'}]", "mainSteps[0].name"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: '\(String(repeating: "a", count: 101))'}]", "mainSteps[0].name"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, retries: 3}]", "mainSteps[0].retries"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, inputs: [1]}]", "mainSteps[0].inputs"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, inputs: {x: 1.5}}]", "mainSteps[0].inputs.x"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, onFailure: continue}]", "mainSteps[0].onFailure"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, onSuccess: successAndExit}]", "mainSteps[0].onSuccess"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, finallyStep: yes}]", "mainSteps[0].finallyStep"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, finallyStep: true}, {action: tender:runPatchBaseline, name: b}]", "mainSteps[0].finallyStep"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, precondition: {StringEquals: [platformType, Windows]}}]", "mainSteps[0].precondition.StringEquals[1]"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, precondition: {StringEquals: [platform, Linux]}}]", "mainSteps[0].precondition.StringEquals[0]"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, precondition: {StringEquals: [platformType]}}]", "mainSteps[0].precondition.StringEquals"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, precondition: {StringLike: [platformType, Linux]}}]", "mainSteps[0].precondition"),
        // runShellScript inputs
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a}]", "mainSteps[0].inputs"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {}}]", "mainSteps[0].inputs.runCommand"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: []}}]", "mainSteps[0].inputs.runCommand"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: 5}}]", "mainSteps[0].inputs.runCommand"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: [ls, {a: b}]}}]", "mainSteps[0].inputs.runCommand[1]"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: ls, workingDirectory: [a]}}]", "mainSteps[0].inputs.workingDirectory"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: ls, timeoutSeconds: 4}}]", "mainSteps[0].inputs.timeoutSeconds"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: ls, timeoutSeconds: 172801}}]", "mainSteps[0].inputs.timeoutSeconds"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: ls, timeoutSeconds: soon}}]", "mainSteps[0].inputs.timeoutSeconds"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: ls, timeout: 60}}]", "mainSteps[0].inputs.timeout"),
        ("schemaVersion: '2.2'\nmainSteps: [{action: aws:runShellScript, name: a, inputs: {runCommand: ['echo {{ nope }}']}}]", "mainSteps[0].inputs.runCommand[0]"),
        // parameters
        ("schemaVersion: '2.2'\nparameters: {commands: {type: Text}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.commands.type"),
        ("schemaVersion: '2.2'\nparameters: {commands: {description: x}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.commands.type"),
        ("schemaVersion: '2.2'\nparameters: {bad-name: {type: String}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.bad-name"),
        ("schemaVersion: '2.2'\nparameters: {p: String}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p"),
        ("schemaVersion: '2.2'\nparameters: {p: {type: String, required: true}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p.required"),
        ("schemaVersion: '2.2'\nparameters: {p: {type: String, allowedPattern: '[a-'}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p.allowedPattern"),
        ("schemaVersion: '2.2'\nparameters: {p: {type: String, allowedValues: []}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p.allowedValues"),
        ("schemaVersion: '2.2'\nparameters: {p: {type: String, minItems: 1}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p.minItems"),
        ("schemaVersion: '2.2'\nparameters: {p: {type: Integer, maxChars: 1}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p.maxChars"),
        ("schemaVersion: '2.2'\nparameters: {p: {type: String, minChars: -1}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p.minChars"),
        ("schemaVersion: '2.2'\nparameters: {p: {type: String, minChars: 3, maxChars: 2}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p.minChars"),
        ("schemaVersion: '2.2'\nparameters: {p: {type: String, default: }}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p.default"),
        ("schemaVersion: '2.2'\nparameters: {p: {type: String, default: [a, b]}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]", "parameters.p.default"),
    ])
    func reportsTheRightPath(_ text: String, _ path: String) {
        let problems = DocumentParser.problems(in: text)
        #expect(problems.map(\.path) == [path], "\(problems)")
        #expect(problems.allSatisfy { !$0.message.isEmpty })
    }

    @Test(arguments: [
        // A default must keep its own parameter's rules.
        ("p: {type: Integer, default: abc}", "'abc' is not an Integer"),
        ("p: {type: Boolean, default: 'yes'}", "'yes' is not a Boolean"),
        ("p: {type: String, default: c, allowedValues: [a, b]}", "'c' is not one of the allowed values a, b"),
        ("p: {type: String, default: 'A1', allowedPattern: '[a-z]+'}", "does not match the allowed pattern"),
        ("p: {type: String, default: abcd, maxChars: 3}", "longer than maxChars 3"),
        ("p: {type: StringList, default: [a, b], maxItems: 1}", "more than maxItems 1"),
        ("p: {type: StringList, default: [a, toolong], maxChars: 3}", "'toolong' is longer than maxChars 3"),
    ])
    func rejectsADefaultThatBreaksItsOwnRules(_ declaration: String, _ message: String) {
        let text = "schemaVersion: '2.2'\nparameters: {\(declaration)}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]"
        let problems = DocumentParser.problems(in: text)
        #expect(problems.map(\.path) == ["parameters.p.default"], "\(problems)")
        #expect(problems.first?.message.contains(message) == true, "\(problems)")
    }

    @Test func duplicateStepNamesPointAtTheSecond() {
        let problems = DocumentParser.problems(in: """
            schemaVersion: '2.2'
            mainSteps:
              - {action: tender:runPatchBaseline, name: same}
              - {action: tender:runPatchBaseline, name: other}
              - {action: tender:runPatchBaseline, name: same}
            """)
        #expect(problems.map(\.path) == ["mainSteps[2].name"])
        #expect(problems[0].message.contains("mainSteps[0]"))
    }

    @Test func reportsEveryProblemAtOnce() throws {
        let text = """
            schemaVersion: '2.2'
            parameters:
              commands:
                type: Strings
              count:
                type: Integer
                default: many
                minItems: 2
            mainSteps:
              - action: aws:runShellScript
                name: first
                inputs:
                  timeoutSeconds: 2
              - action: aws:runShelScript
                name: first
                inputs:
                  runCommand: ['{{ missing }}']
            """
        let problems = DocumentParser.problems(in: text)
        #expect(Set(problems.map(\.path)) == [
            "parameters.commands.type", "parameters.count.minItems", "parameters.count.default", "mainSteps[0].inputs.runCommand",
            "mainSteps[0].inputs.timeoutSeconds", "mainSteps[1].action", "mainSteps[1].name", "mainSteps[1].inputs.runCommand[0]",
        ], "\(problems)")

        do {
            _ = try DocumentParser.parse(text: text)
            Issue.record("expected a validation error")
        } catch let error as TenderError {
            #expect(error.code == .validation)
            let lines = error.message.split(separator: "\n").map(String.init)
            #expect(lines == problems.map(\.description), "one problem per line")
            #expect(lines.contains("parameters.count.default: 'many' is not an Integer"))
        }
    }

    @Test func aStringListCanOnlyStandAlone() {
        let problems = DocumentParser.problems(in: """
            schemaVersion: '2.2'
            parameters:
              items: {type: StringList}
              dir: {type: String}
            mainSteps:
              - action: aws:runShellScript
                name: a
                inputs:
                  runCommand: ['echo {{ items }}', '{{ items }}', '{{dir}}']
                  workingDirectory: '{{ items }}'
            """)
        #expect(problems.map(\.path) == ["mainSteps[0].inputs.runCommand[0]", "mainSteps[0].inputs.workingDirectory"], "\(problems)")
        #expect(problems.first?.message.contains("'items' is a StringList") == true)
    }

    @Test func timeoutFromAParameterIsCheckedForItsType() {
        let problems = DocumentParser.problems(in: """
            schemaVersion: '2.2'
            parameters:
              flag: {type: Boolean, default: false}
              seconds: {type: Integer, default: 30}
            mainSteps:
              - {action: aws:runShellScript, name: a, inputs: {runCommand: ls, timeoutSeconds: '{{ flag }}'}}
              - {action: aws:runShellScript, name: b, inputs: {runCommand: ls, timeoutSeconds: '{{ seconds }}'}}
              - {action: aws:runShellScript, name: c, inputs: {runCommand: ls, timeoutSeconds: '600'}}
            """)
        #expect(problems.map(\.path) == ["mainSteps[0].inputs.timeoutSeconds"], "\(problems)")
    }

    @Test(arguments: [
        "", "   \n", "- just\n- a list", "schemaVersion: [unclosed", "a: b\n---\nc: d", "key: value\nkey: again",
        "{\"schemaVersion\": \"2.2\",}", "{\"a\": 1, \"a\": 2}", "[1, 2]", "? [complex, key]\n: value",
        "schemaVersion: !!python/object x\nmainSteps: []",
    ])
    func rejectsUnreadableTextAsOneWholeDocumentProblem(_ text: String) {
        let problems = DocumentParser.problems(in: text)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.path == "", "\(problems)")
    }

    @Test func syntaxErrorsNameTheLine() {
        let problems = DocumentParser.problems(in: "schemaVersion: '2.2'\nmainSteps:\n  - action: [x\n")
        #expect(problems.count == 1)
        #expect(problems[0].message.hasPrefix("not valid YAML: line"), "\(problems)")
        #expect(!problems[0].message.contains("\n"), "one line")

        let duplicate = DocumentParser.problems(in: "schemaVersion: '2.2'\nschemaVersion: '2.0'\n")
        #expect(duplicate.first?.message.contains("duplicate key 'schemaVersion'") == true, "\(duplicate)")

        let json = DocumentParser.problems(in: "{\"schemaVersion\": \"2.2\",}")
        #expect(json.first?.message.hasPrefix("not valid JSON") == true, "\(json)")
    }

    // MARK: Hostile input

    @Test func billionLaughsIsRejectedBeforeExpansion() {
        var lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for level in 1...9 {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]")
        }
        lines.append("? *a9\n: boom")  // a key Yams would hash, expanded
        let start = Date()
        let problems = DocumentParser.problems(in: lines.joined(separator: "\n"))
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("anchors") == true, "\(problems)")
    }

    @Test func aliasesAndAnchorsAreRefused() {
        let alias = DocumentParser.problems(in: "schemaVersion: '2.2'\nx: *undefined\n")
        #expect(alias.count == 1 && alias[0].path == "", "\(alias)")
        let anchor = DocumentParser.problems(in: "schemaVersion: &v '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a}]")
        #expect(anchor.first?.message.contains("line 1: YAML anchors") == true, "\(anchor)")
    }

    @Test func nestingIsBounded() {
        for (text, format) in [
            (String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000), DocumentFormat.yaml),
            (String(repeating: "- ", count: 1_000) + "x", .yaml),
            ("{\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}", .json),
        ] {
            let problems = DocumentParser.problems(in: text, format: format)
            #expect(problems.count == 1 && problems[0].path == "")
            #expect(problems.first?.message.contains("deeper than 64") == true, "\(problems.map { String($0.message.prefix(300)) })")
        }
        let fine = "schemaVersion: '2.2'\nmainSteps: [{action: tender:runPatchBaseline, name: a, inputs: {x: "
            + String(repeating: "[", count: 60) + String(repeating: "]", count: 60) + "}}]"
        #expect(DocumentParser.problems(in: fine) == [])
    }

    @Test func oversizeTextIsRejectedUnread() {
        let big = "schemaVersion: '2.2'\n# " + String(repeating: "x", count: DocumentParser.maxTextBytes) + "\n"
        let problems = DocumentParser.problems(in: big)
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("limit is 262144") == true, "\(problems)")
        #expect(throws: TenderError.self) { try DocumentParser.parse(text: big) }
    }

    @Test func formatFollowsTheFileName() {
        #expect(DocumentFormat(fileName: "doc.JSON") == .json)
        #expect(DocumentFormat(fileName: "doc.yml") == .yaml)
        #expect(DocumentFormat(fileName: "/tmp/doc.yaml") == .yaml)
        #expect(DocumentFormat(fileName: "doc") == .auto)
    }

    @Test func jsonStringsAreUnescaped() throws {
        let document = try DocumentParser.parse(text: #"""
            {"schemaVersion": "2.2", "mainSteps": [{"action": "tender:runPatchBaseline", "name": "a",
              "inputs": {"s": "tab\tquote\" slash\/ e\u00e9 smile\ud83d\ude00 nl\n", "n": -12, "big": 1}}]}
            """#)
        #expect(document.mainSteps[0].inputs["s"] == .string("tab\tquote\" slash/ eé smile😀 nl\n"))
        #expect(document.mainSteps[0].inputs["n"] == .integer(-12))
    }
}
