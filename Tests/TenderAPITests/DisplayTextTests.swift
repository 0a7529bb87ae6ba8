import Foundation
import Testing
@testable import TenderAPI
@testable import TenderWire

@Suite("Display text")
struct DisplayTextTests {
    static let controls: [Unicode.Scalar] = [
        "\u{0}", "\u{7}", "\u{8}", "\t", "\n", "\r", "\u{1B}", "\u{1F}", "\u{7F}", "\u{80}", "\u{9B}", "\u{9F}",
        "\u{061C}", "\u{200B}", "\u{200E}", "\u{200F}", "\u{2028}", "\u{2029}", "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}",
        "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}", "\u{FEFF}",
    ]

    @Test func controlsAreTheC0C1DelAndFormatSets() {
        for scalar in Self.controls {
            #expect(DisplayText.isControl(scalar), "U+\(String(scalar.value, radix: 16))")
        }
        for scalar in ["a", " ", "~", "é", "\u{A0}", "\u{200C}", "\u{200D}", "日", "\u{1F600}", "\u{301}"] as [Unicode.Scalar] {
            #expect(!DisplayText.isControl(scalar), "U+\(String(scalar.value, radix: 16))")
        }
    }

    @Test func cleanRemovesEveryControlAndKeepsTheRest() {
        #expect(DisplayText.clean("\u{1B}[31mred\u{1B}[0m", limit: 100) == "[31mred[0m")
        #expect(DisplayText.clean("a\u{9B}2Jb\u{7F}c\u{0}d", limit: 100) == "a2Jbcd")
        #expect(DisplayText.clean("admin\u{202E}txt.exe\u{2066}x\u{2069}", limit: 100) == "admintxt.exex")
        #expect(DisplayText.clean("line\r\nnext\ttab", limit: 100) == "linenexttab")
        #expect(DisplayText.clean("web-01 (prod) é 日本 👩‍💻", limit: 100) == "web-01 (prod) é 日本 👩‍💻")
        let all = String(String.UnicodeScalarView(Self.controls))
        #expect(DisplayText.clean(all, limit: 100) == "")
    }

    @Test func cleanCapsTheLengthBetweenCharacters() {
        #expect(DisplayText.clean(String(repeating: "x", count: 1000), limit: 255).unicodeScalars.count == 255)
        #expect(DisplayText.clean("abc", limit: 3) == "abc")
        // Controls do not count against the limit: they are gone first.
        #expect(DisplayText.clean("\u{1B}\u{1B}\u{1B}abc", limit: 3) == "abc")
        // "é" as e + combining acute is two scalars: never cut in between.
        #expect(DisplayText.clean("ae\u{301}", limit: 2) == "a")
        #expect(DisplayText.clean("ae\u{301}", limit: 3) == "ae\u{301}")
        // A pile of combining marks cannot smuggle in more than the limit.
        let zalgo = "a" + String(repeating: "\u{301}", count: 10_000) + "b"
        #expect(DisplayText.clean(zalgo, limit: 255).unicodeScalars.count <= 255)
    }

    @Test func escapedMakesControlsVisible() {
        #expect(DisplayText.escaped("\u{1B}[31mred") == "\\e[31mred")
        #expect(DisplayText.escaped("a\nb\tc\rd") == "a\\nb\\tc\\rd")
        #expect(DisplayText.escaped("\u{7F}\u{9B}\u{0}\u{202E}\u{2028}") == "\\u{7F}\\u{9B}\\u{0}\\u{202E}\\u{2028}")
        #expect(DisplayText.escaped("plain text, é 日本 👩‍💻 C:\\dir") == "plain text, é 日本 👩‍💻 C:\\dir")
        for scalar in Self.controls {
            let out = DisplayText.escaped(String(Character(scalar)))
            #expect(!out.unicodeScalars.contains(where: DisplayText.isControl), "U+\(String(scalar.value, radix: 16)) → \(out)")
            #expect(out.unicodeScalars.allSatisfy { $0.isASCII })
        }
    }

    @Test func escapedMultiLineKeepsLineFeedsAndTabsOnly() {
        #expect(DisplayText.escaped("one\n\ttwo\u{1B}[2J\r\n", multiLine: true) == "one\n\ttwo\\e[2J\\r\n")
        #expect(DisplayText.escaped("\u{1B}]0;title\u{7}", multiLine: true) == "\\e]0;title\\u{7}")
    }

    @Test func escapedJSONMeansTheSameAndCarriesNoControls() throws {
        let value = ["name": "\u{1B}[31m\u{7F}\u{9B}\u{202E}\u{E0001}x\n", "plain": "é 日本 👩‍💻"]
        let json = String(decoding: try JSON.encoder(pretty: true).encode(value), as: UTF8.self)
        let safe = DisplayText.escapedJSON(json)
        #expect(!safe.unicodeScalars.contains { DisplayText.isControl($0) && $0 != "\n" })
        #expect(safe.contains("\\u007f\\u009b\\u202e\\udb40\\udc01"))
        #expect(try JSONDecoder().decode([String: String].self, from: Data(safe.utf8)) == value)
        #expect(DisplayText.escapedJSON(#"{"a": "b"}"#) == #"{"a": "b"}"#)
    }

    /// The CLI's JSON output is left as JSON: the encoder already writes C0 controls as \u00XX.
    @Test func jsonEscapesC0Controls() throws {
        let data = try JSON.encoder(pretty: true).encode(["name": "\u{1B}[31mred\u{7}\u{0}"])
        #expect(!data.contains(0x1B))
        #expect(!data.contains(0x07))
        #expect(!data.contains(0x00))
        #expect(try JSONDecoder().decode([String: String].self, from: data)["name"] == "\u{1B}[31mred\u{7}\u{0}")
    }
}
