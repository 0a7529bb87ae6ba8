import Foundation
import TenderAPI
import TenderWire

/// Prints results as aligned tables for people or JSON for scripts.
///
/// Everything printed for people goes through `DisplayText.escaped`: names, details
/// and output come from agents and registrants, and must never drive the operator's
/// terminal. JSON keeps its meaning: controls are written as `\uXXXX` escapes.
enum Output {
    static func json(_ value: some Encodable) throws {
        let text = String(decoding: try JSON.encoder(pretty: true).encode(value), as: UTF8.self)
        // Foundation pretty-prints an empty array as "[\n\n]".
        print(text.filter { !$0.isWhitespace } == "[]" ? "[]" : DisplayText.escapedJSON(text))
    }

    /// One line of text, controls (line breaks too) made visible.
    static func line(_ text: String) {
        print(DisplayText.escaped(text))
    }

    /// Multi-line text (a document, a script's output): line feeds and tabs kept,
    /// every other control made visible.
    static func text(_ text: String) {
        print(DisplayText.escaped(text, multiLine: true))
    }

    /// A message on stderr, as `line` but keeping line breaks.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((DisplayText.escaped(text, multiLine: true) + "\n").utf8))
    }

    static func table(_ headers: [String], _ rows: [[String]]) {
        let headers = headers.map { DisplayText.escaped($0) }
        let rows = rows.map { $0.map { DisplayText.escaped($0) } }
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        print(line(headers))
        for row in rows { print(line(row)) }
    }

    /// One "Label:  value" line per field, labels aligned.
    static func fields(_ pairs: [(String, String)]) {
        let width = (pairs.map(\.0.count).max() ?? 0) + 1
        for (label, value) in pairs {
            print((label + ":").padding(toLength: width, withPad: " ", startingAt: 0) + "  " + DisplayText.escaped(value))
        }
    }

    static func time(_ date: Date?) -> String { date.map(ISOTime.format) ?? "-" }

    static func tags(_ tags: [String: String]) -> String {
        tags.isEmpty ? "-" : tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
