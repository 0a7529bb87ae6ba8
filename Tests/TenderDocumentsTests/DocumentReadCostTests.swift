import Foundation
import Testing
@testable import TenderDocuments

/// What reading a large document costs: it is read on every create and update,
/// and on a cache miss when listed, shown or sent.
@Suite("Document read cost")
struct DocumentReadCostTests {
    /// About 120 KB of YAML that is nothing but short plain scalars, the shape that
    /// took 4.7 s in a debug build while each scalar recompiled two `Regex` literals.
    static func manyShortScalars() -> String {
        let items = (0..<30_000).map { "e\($0 % 10)" }.joined(separator: ", ")
        return """
            schemaVersion: '2.2'
            mainSteps:
              - action: aws:runShellScript
                name: s
                inputs:
                  runCommand: [\(items)]

            """
    }

    @Test func aLargeDocumentOfShortScalarsReadsQuickly() throws {
        let text = Self.manyShortScalars()
        #expect(text.utf8.count > 120_000)
        var document: CommandDocument?
        let elapsed = try threadCPUTime { document = try DocumentParser.parse(text: text) }
        #expect(document?.mainSteps.count == 1)
        #expect(elapsed < .seconds(1), "took \(elapsed) of CPU")
    }

    /// The hand-written number check says what the two regular expressions it
    /// replaced said, for every string of up to 4 characters from the symbols they use.
    @Test func numberFormAgreesWithTheRegularExpressionsItReplaced() throws {
        let integer = try Regex("[-+]?[0-9]+")
        let float = try Regex(#"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"#)
        let symbols: [String] = ["+", "-", ".", "e", "E", "0", "7", "x", "٣"]
        var texts = [""]
        var frontier = [""]
        for _ in 0..<4 {
            frontier = frontier.flatMap { prefix in symbols.map { prefix + $0 } }
            texts += frontier
        }
        #expect(texts.count > 7_000)
        for text in texts {
            let expected: YAMLTreeReader.NumberForm?
            if (try integer.wholeMatch(in: text)) != nil {
                expected = .integer
            } else if (try float.wholeMatch(in: text)) != nil {
                expected = .fraction
            } else {
                expected = nil
            }
            #expect(YAMLTreeReader.numberForm(text) == expected, "\(text.debugDescription)")
        }
    }

    @Test func plainScalarsKeepTheirTypes() throws {
        let source = try YAMLTreeReader.read("[12, -3, +4, 1.5, .5, 1e3, 2.2, 1., '7', x1, 1x, Yes, 0x1F, 99999999999999999999]")
        #expect(source == .list([
            .integer(12), .integer(-3), .integer(4), .number("1.5"), .number(".5"), .number("1e3"), .number("2.2"),
            .number("1."), .string("7"), .string("x1"), .string("1x"), .string("Yes"), .string("0x1F"),
            .number("99999999999999999999"),
        ]))
    }
}
