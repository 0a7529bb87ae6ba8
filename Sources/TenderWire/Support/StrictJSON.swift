/// A strict RFC 8259 syntax check, run before Foundation's decoder.
///
/// Foundation's parser on Linux accepts trailing commas (`{"a":1,}`) and other
/// JSON5 leniencies; an API that says "malformed JSON gets 400" must not guess
/// what such a body meant. It also bounds nesting depth, so a hostile body of
/// ten thousand `[` cannot exhaust the stack.
public enum StrictJSON {
    public static let maxDepth = 64

    /// Throws a `TenderError(.malformedJSON)` naming the byte offset of the first problem.
    public static func validate(_ bytes: some Collection<UInt8>) throws {
        var parser = Parser(bytes: Array(bytes))
        try parser.skipWhitespace()
        try parser.value(depth: 0)
        try parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected data after the JSON value") }
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ what: String) -> TenderError {
            TenderError(.malformedJSON, "not valid JSON: \(what) at byte \(index)")
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() throws {
            while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { index += 1 }
        }

        mutating func expect(_ literal: String) throws {
            for c in literal.utf8 {
                guard current == c else { throw error("expected '\(literal)'") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws {
            guard depth < StrictJSON.maxDepth else { throw error("nested deeper than \(StrictJSON.maxDepth) levels") }
            guard let c = current else { throw error("unexpected end of input") }
            switch c {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try expect("true")
            case UInt8(ascii: "f"): try expect("false")
            case UInt8(ascii: "n"): try expect("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
            }
        }

        mutating func object(depth: Int) throws {
            index += 1
            try skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                try skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
                try string()
                try skipWhitespace()
                try expect(":")
                try skipWhitespace()
                try value(depth: depth + 1)
                try skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect("}")
                return
            }
        }

        mutating func array(depth: Int) throws {
            index += 1
            try skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                try skipWhitespace()
                try value(depth: depth + 1)
                try skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect("]")
                return
            }
        }

        mutating func string() throws {
            index += 1
            while let c = current {
                index += 1
                switch c {
                case UInt8(ascii: "\""): return
                case UInt8(ascii: "\\"):
                    guard let e = current else { throw error("unterminated escape") }
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        continue
                    case UInt8(ascii: "u"):
                        for _ in 0..<4 {
                            guard let h = current, Character(Unicode.Scalar(h)).isHexDigit else { throw error("bad \\u escape") }
                            index += 1
                        }
                    default: throw error("bad escape")
                    }
                case 0x00...0x1F: throw error("control character in a string")
                default: continue
                }
            }
            throw error("unterminated string")
        }

        mutating func number() throws {
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw error("bad number") }
            index += 1
            if first != UInt8(ascii: "0") { digits() }
            if current == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw error("bad number") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw error("bad number") }
            }
        }

        @discardableResult
        mutating func digits() -> Int {
            var count = 0
            while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
                index += 1
                count += 1
            }
            return count
        }
    }
}
