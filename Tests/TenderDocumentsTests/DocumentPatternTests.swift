import Foundation
import Testing
@testable import TenderDocuments
@testable import TenderWire

/// `allowedPattern` as documents and requests meet it: compiled by `LinearPattern`
/// when the document is read, matched within one budget per request.
@Suite("Document patterns")
struct DocumentPatternTests {
    static func document(_ parameters: String) throws -> CommandDocument {
        try DocumentParser.parse(text: """
            schemaVersion: '2.2'
            parameters:
            \(parameters)
            mainSteps: [{action: tender:runPatchBaseline, name: a}]
            """)
    }

    @Test func anUnsupportedPatternIsAProblemAtItsPath() {
        let text = """
            schemaVersion: '2.2'
            parameters: {p: {type: String, allowedPattern: '(a)\\1'}}
            mainSteps: [{action: tender:runPatchBaseline, name: a}]
            """
        #expect(DocumentParser.problems(in: text) == [DocumentProblem(
            path: "parameters.p.allowedPattern",
            message: #"'(a)\1' is not a valid regular expression: backreference '\1' at character 4 is not supported (it needs a backtracking engine)"#)])
    }

    @Test func anInvalidPatternKeepsTheOldWordingFirst() {
        let text = "schemaVersion: '2.2'\nparameters: {p: {type: String, allowedPattern: '[a-'}}\nmainSteps: [{action: tender:runPatchBaseline, name: a}]"
        let problems = DocumentParser.problems(in: text)
        #expect(problems.map(\.path) == ["parameters.p.allowedPattern"])
        #expect(problems.first?.message.hasPrefix("'[a-' is not a valid regular expression: ") == true, "\(problems)")
    }

    @Test func thePatternIsCompiledOnceWithTheDocument() throws {
        let document = try Self.document("  p: {type: String, allowedPattern: '[a-z]+'}")
        let parameter = try #require(document.parameter(named: "p"))
        #expect(parameter.pattern == (try LinearPattern("[a-z]+")))
        #expect(parameter.allowedPattern == "[a-z]+")
    }

    @Test func aCatastrophicPatternIsDecidedAtOnceOnSend() throws {
        let document = try Self.document("  p: {type: String, allowedPattern: '(a+)+'}")
        let elapsed = threadCPUTime {
            #expect(throws: TenderError.validation("parameter 'p': '\(String(repeating: "a", count: 30))b' does not match the allowed pattern '(a+)+'")) {
                _ = try document.resolveParameters(["p": .string(String(repeating: "a", count: 30) + "b")])
            }
        }
        #expect(elapsed < .milliseconds(100), "took \(elapsed)")
        #expect(try document.resolveParameters(["p": .string("aaaa")]) == ["p": .string("aaaa")])
    }

    /// About 18,000 instructions, near the largest programs there are, that still
    /// match a run of `a`s quickly (the worst case is what is budgeted, not the work).
    static let largePattern = String(repeating: "(b?){1000}", count: 9) + "a*"

    @Test func oneRequestHasOnePatternBudget() throws {
        let document = try Self.document("""
              p: {type: String, default: '', allowedPattern: '\(Self.largePattern)'}
              q: {type: String, default: '', allowedPattern: '\(Self.largePattern)'}
            """)
        let program = try LinearPattern(Self.largePattern).programSize
        // Each value alone fits the budget; the two together do not.
        let fits = LinearPattern.maxStepsPerRequest / program - 1
        let value = String(repeating: "a", count: fits * 2 / 3)
        #expect(try document.resolveParameters(["p": .string(value)]) == ["p": .string(value), "q": .string("")])
        #expect(try document.resolveParameters(["q": .string(value)]) == ["p": .string(""), "q": .string(value)])
        do {
            _ = try document.resolveParameters(["p": .string(value), "q": .string(value)])
            Issue.record("two values over the budget together were accepted")
        } catch let error as TenderError {
            let lines = error.message.split(separator: "\n")
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.contains("is too long to check against the allowed pattern") == true, "\(lines)")
            #expect(lines.first?.contains("may spend \(LinearPattern.maxStepsPerRequest) on patterns") == true, "\(lines)")
        }
    }

    @Test func aValueTooLongForItsPatternIsRefusedUnmatched() throws {
        let document = try Self.document("  p: {type: StringList, allowedPattern: '\(Self.largePattern)'}")
        let long = String(repeating: "a", count: 4_000)
        let elapsed = threadCPUTime {
            #expect(throws: TenderError.self) {
                _ = try document.resolveParameters(["p": .list(Array(repeating: long, count: 200))])
            }
        }
        // 200 × 4,000 characters against 18,001 steps would be 1.4·10¹⁰ steps if matched.
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    @Test func defaultsShareOneBudgetPerDocument() {
        let value = String(repeating: "a", count: LinearPattern.maxStepsPerRequest / 18_001 * 2 / 3)
        let text = """
            schemaVersion: '2.2'
            parameters:
              p: {type: String, default: '\(value)', allowedPattern: '\(Self.largePattern)'}
              q: {type: String, default: '\(value)', allowedPattern: '\(Self.largePattern)'}
            mainSteps: [{action: tender:runPatchBaseline, name: a}]
            """
        let problems = DocumentParser.problems(in: text)
        #expect(problems.map(\.path) == ["parameters.q.default"], "\(problems)")
    }

    @Test func builtinExecutionTimeoutStillWorks() throws {
        let document = BuiltinDocuments.runShellScript
        for accepted in ["1", "3600", "172800"] {
            let values = try document.resolveParameters(["commands": .list(["true"]), "executionTimeout": .string(accepted)])
            #expect(values["executionTimeout"] == .string(accepted))
        }
        for refused in ["0", "172801", "abc"] {
            #expect(throws: TenderError.self, "\(refused)") {
                _ = try document.resolveParameters(["commands": .list(["true"]), "executionTimeout": .string(refused)])
            }
        }
    }
}
