import Foundation
import Testing
@testable import TenderDocuments
@testable import TenderWire

@Suite("Document parameters")
struct DocumentsParameterTests {
    static let document = try! DocumentParser.parse(text: """
        schemaVersion: '2.2'
        parameters:
          name:
            type: String
            allowedPattern: '[a-z]+'
            minChars: 2
            maxChars: 5
          mode:
            type: String
            allowedValues: [fast, safe]
            default: safe
          count:
            type: Integer
            default: 1
          verbose:
            type: Boolean
            default: false
          hosts:
            type: StringList
            default: [localhost]
            minItems: 1
            maxItems: 3
            maxChars: 9
        mainSteps:
          - {action: tender:runPatchBaseline, name: a}
        """)

    /// The lines of the `ValidationError` resolving `given` throws.
    func errors(_ given: ParameterValues) -> [String] {
        do {
            _ = try Self.document.resolveParameters(given)
            Issue.record("expected a validation error for \(given)")
            return []
        } catch let error as TenderError {
            #expect(error.code == .validation)
            return error.message.split(separator: "\n").map(String.init)
        } catch {
            Issue.record("unexpected \(error)")
            return []
        }
    }

    @Test func appliesDefaultsAndShapesValues() throws {
        let resolved = try Self.document.resolveParameters(["name": .string("web")])
        #expect(resolved == [
            "name": .string("web"), "mode": .string("safe"), "count": .string("1"),
            "verbose": .string("false"), "hosts": .list(["localhost"]),
        ])
        let given = try Self.document.resolveParameters([
            "name": .string("db"), "count": .string("-42"), "verbose": .string("true"), "hosts": .string("h1"),
        ])
        #expect(given["hosts"] == .list(["h1"]), "a single value is a one-item StringList")
        #expect(given["count"] == .string("-42"))
        #expect(try Self.document.resolveParameters(given) == given, "resolving twice changes nothing")
    }

    @Test func requiredParameterMustBeGiven() {
        #expect(errors([:]) == ["parameter 'name': is required and has no default"])
    }

    @Test func unknownParametersAreRejected() {
        #expect(errors(["name": .string("ok"), "colour": .string("red")]) == [
            "parameter 'colour': not declared by this document (it takes name, mode, count, verbose, hosts)",
        ])
    }

    @Test(arguments: [
        (ParameterValue.string("abc"), "parameter 'count': 'abc' is not an Integer"),
        (.string("1.5"), "parameter 'count': '1.5' is not an Integer"),
        (.string(""), "parameter 'count': '' is not an Integer"),
        (.string("+3"), "parameter 'count': '+3' is not an Integer"),
        (.string("99999999999999999999"), "parameter 'count': '99999999999999999999' is not an Integer"),
        (.list(["1", "2"]), "parameter 'count': expects a single Integer, got a list of 2"),
    ])
    func integerMustBeAWholeNumber(_ value: ParameterValue, _ error: String) {
        #expect(errors(["name": .string("ok"), "count": value]) == [error])
    }

    @Test func booleanMustBeTrueOrFalse() {
        #expect(errors(["name": .string("ok"), "verbose": .string("yes")]) == [
            "parameter 'verbose': 'yes' is not a Boolean (true or false)",
        ])
        #expect(errors(["name": .string("ok"), "verbose": .string("True")]).count == 1)
    }

    @Test func allowedValues() {
        #expect(errors(["name": .string("ok"), "mode": .string("slow")]) == [
            "parameter 'mode': 'slow' is not one of the allowed values fast, safe",
        ])
    }

    @Test func allowedPatternMatchesTheWholeValue() {
        #expect(errors(["name": .string("abc1")]) == ["parameter 'name': 'abc1' does not match the allowed pattern '[a-z]+'"])
        #expect(errors(["name": .string("1abc")]).count == 1)
    }

    @Test func charLimits() {
        #expect(errors(["name": .string("a")]) == ["parameter 'name': 'a' is shorter than minChars 2"])
        #expect(errors(["name": .string("abcdef")]) == ["parameter 'name': 'abcdef' is longer than maxChars 5"])
        #expect(errors(["name": .string("ok"), "hosts": .list(["h1", "much-too-long"])]) == [
            "parameter 'hosts': 'much-too-long' is longer than maxChars 9",
        ], "minChars/maxChars apply to each StringList item")
    }

    @Test func itemLimits() {
        #expect(errors(["name": .string("ok"), "hosts": .list([])]) == ["parameter 'hosts': has 0 items, fewer than minItems 1"])
        #expect(errors(["name": .string("ok"), "hosts": .list(["a", "b", "c", "d"])]) == [
            "parameter 'hosts': has 4 items, more than maxItems 3",
        ])
    }

    @Test func reportsEveryBadValueAtOnce() {
        let lines = errors([
            "name": .string("A"), "count": .string("x"), "verbose": .string("1"), "hosts": .list([]), "extra": .string("e"),
        ])
        #expect(lines == [
            "parameter 'extra': not declared by this document (it takes name, mode, count, verbose, hosts)",
            "parameter 'name': 'A' does not match the allowed pattern '[a-z]+'",
            "parameter 'name': 'A' is shorter than minChars 2",
            "parameter 'count': 'x' is not an Integer",
            "parameter 'verbose': '1' is not a Boolean (true or false)",
            "parameter 'hosts': has 0 items, fewer than minItems 1",
        ])
    }

    @Test func longValuesAreShortenedInMessages() {
        let line = errors(["name": .string(String(repeating: "z", count: 5000))]).first ?? ""
        #expect(line.count < 200)
    }

    // MARK: Command-line input

    @Test func paramFlags() throws {
        let values = try ParameterInput.values(params: [
            "commands=echo a=b", "commands=uptime", "commands=", "dir=", "n=3", "single=only",
        ])
        #expect(values == [
            "commands": .list(["echo a=b", "uptime", ""]), "dir": .string(""), "n": .string("3"), "single": .string("only"),
        ])
    }

    @Test func paramsJSON() throws {
        let values = try ParameterInput.values(paramsJSON: #"{"commands":["a","b"],"n":"3","m":4,"f":true,"x":1.50,"l":[1,false]}"#)
        #expect(values == [
            "commands": .list(["a", "b"]), "n": .string("3"), "m": .string("4"), "f": .string("true"), "x": .string("1.50"),
            "l": .list(["1", "false"]),
        ])
    }

    @Test func paramInputErrorsAreAllReported() {
        do {
            _ = try ParameterInput.values(params: ["novalue", "=x", "n=1"], paramsJSON: #"{"n":"2","o":{"a":1},"p":null,"q":[[1]]}"#)
            Issue.record("expected an error")
        } catch let error as TenderError {
            #expect(error.code == .validation)
            let lines = error.message.split(separator: "\n")
            #expect(lines.count == 6, "\(error.message)")
            #expect(error.message.contains("--param 'novalue': expected KEY=VALUE"))
            #expect(error.message.contains("parameter 'n': given both in --params-json and --param"))
            #expect(error.message.contains("--params-json: parameter 'o' must be"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: TenderError.self) { try ParameterInput.values(paramsJSON: "[1]") }
        #expect(throws: TenderError.self) { try ParameterInput.values(paramsJSON: "{\"a\":1,}") }
    }

    @Test func parameterValuesCodeAsPlainJSON() throws {
        let values: ParameterValues = ["a": .string("x"), "b": .list(["1", "2"])]
        let data = try JSON.encoder().encode(values)
        #expect(String(decoding: data, as: UTF8.self) == #"{"a":"x","b":["1","2"]}"#)
        #expect(try JSON.decode(ParameterValues.self, from: data) == values)
        let loose = try JSON.decode(ParameterValues.self, from: Data(#"{"n":3,"f":false}"#.utf8))
        #expect(loose == ["n": .string("3"), "f": .string("false")])
    }
}
