import TenderWire
/// Reads JSON into a `SourceValue`, keeping object key order.
///
/// Foundation's decoders drop key order, and parameters must stay in the order
/// they were declared. The text has already passed `StrictJSON.validate`, so
/// this reader only builds the tree; it still refuses duplicate keys, which
/// RFC 8259 leaves undefined and which would make a document mean two things.
struct JSONTreeReader {
    private let bytes: [UInt8]
    private var index = 0

    static func read(_ text: String) throws -> SourceValue {
        let bytes = Array(text.utf8)
        try StrictJSON.validate(bytes)
        var reader = JSONTreeReader(bytes: bytes)
        return try reader.value()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8 { bytes[index] }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func value() throws -> SourceValue {
        skipWhitespace()
        switch current {
        case UInt8(ascii: "{"):
            index += 1
            var members: [(key: String, value: SourceValue)] = []
            var seen = Set<String>()
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                let keyOffset = index
                let key = string()
                guard seen.insert(key).inserted else {
                    throw TenderError(.malformedJSON, "not valid JSON: duplicate key \(quoted(key)) at byte \(keyOffset)")
                }
                skipWhitespace()
                index += 1  // ':'
                members.append((key, try value()))
                skipWhitespace()
                let separator = current
                index += 1
                if separator == UInt8(ascii: "}") { return .object(members) }
            }
        case UInt8(ascii: "["):
            index += 1
            var items: [SourceValue] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return .list(items)
            }
            while true {
                items.append(try value())
                skipWhitespace()
                let separator = current
                index += 1
                if separator == UInt8(ascii: "]") { return .list(items) }
            }
        case UInt8(ascii: "\""):
            return .string(string())
        case UInt8(ascii: "t"):
            index += 4
            return .bool(true)
        case UInt8(ascii: "f"):
            index += 5
            return .bool(false)
        case UInt8(ascii: "n"):
            index += 4
            return .null
        default:
            let start = index
            while index < bytes.count, Self.numberBytes.contains(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            return Int(text).map(SourceValue.integer) ?? .number(text)
        }
    }

    private static let numberBytes = Set("+-.eE0123456789".utf8)

    /// Reads a string starting at its opening quote (already validated).
    private mutating func string() -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        var run = index
        func flush(_ end: Int) {
            scalars.append(contentsOf: String(decoding: bytes[run..<end], as: UTF8.self).unicodeScalars)
        }
        while true {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                flush(index)
                index += 1
                return String(scalars)
            }
            guard c == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            flush(index)
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var unit = hex4()
                if (0xD800..<0xDC00).contains(unit), index + 1 < bytes.count,
                    bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                {
                    let saved = index
                    index += 2
                    let low = hex4()
                    if (0xDC00..<0xE000).contains(low) {
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        index = saved
                    }
                }
                // A lone surrogate cannot be a Swift string; it becomes U+FFFD as Foundation does.
                scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
            default: scalars.append(Unicode.Scalar(escape))  // \" \\ \/
            }
            run = index
        }
    }

    private mutating func hex4() -> UInt32 {
        let text = String(decoding: bytes[index..<index + 4], as: UTF8.self)
        index += 4
        return UInt32(text, radix: 16) ?? 0xFFFD
    }
}
