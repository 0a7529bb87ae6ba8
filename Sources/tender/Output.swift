import Foundation
import Shared

/// Prints results as aligned tables for people or JSON for scripts.
enum Output {
    static func json(_ value: some Encodable) throws {
        let text = String(decoding: try JSON.encoder(pretty: true).encode(value), as: UTF8.self)
        // Foundation pretty-prints an empty array as "[\n\n]".
        print(text.filter { !$0.isWhitespace } == "[]" ? "[]" : text)
    }

    static func table(_ headers: [String], _ rows: [[String]]) {
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
            print((label + ":").padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }

    static func time(_ date: Date?) -> String { date.map(ISOTime.format) ?? "-" }

    static func tags(_ tags: [String: String]) -> String {
        tags.isEmpty ? "-" : tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
