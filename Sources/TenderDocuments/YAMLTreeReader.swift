internal import CYaml
import Yams
import TenderWire

/// Reads YAML into a `SourceValue`, refusing what a command document never needs
/// and an attacker could use.
///
/// Anchors and aliases are refused outright: Yams expands an alias by sharing the
/// node, and everything that then walks the tree (Yams' own duplicate-key check,
/// which hashes keys, and the checker here) walks it expanded, so nine lines can
/// cost a billion steps. Depth is bounded for the same reason StrictJSON bounds
/// it. Both are checked on libyaml's event stream (the libyaml Yams ships; Yams
/// has no event-level hook) before any tree is built, so the check itself is
/// linear and cannot recurse.
///
/// Plain scalars resolve by the YAML 1.2 core schema, not Yams' YAML 1.1 one:
/// `allowedValues: [Yes, No]` must stay two strings, not two booleans.
enum YAMLTreeReader {
    static let maxDepth = StrictJSON.maxDepth

    static func read(_ text: String) throws -> SourceValue {
        try screen(text)
        let parser = try Parser(yaml: text, resolver: .default, constructor: .default, encoding: .utf8)
        let root: Node?
        do {
            root = try parser.singleRoot()
        } catch let error as YamlError {
            throw TenderError(.validation, describe(error))
        }
        guard let root else { throw TenderError(.validation, "the document is empty") }
        return try convert(root)
    }

    /// One pass over libyaml's events: syntax, a single document, no anchors or
    /// aliases, nesting within `maxDepth`.
    private static func screen(_ text: String) throws {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw TenderError(.internalError, "cannot start the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var depth = 0
            var documents = 0
            var finished = false
            while !finished {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { throw syntaxError(parser) }
                defer { yaml_event_delete(&event) }
                let line = event.start_mark.line + 1
                var anchored = false
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    finished = true
                case YAML_DOCUMENT_START_EVENT:
                    documents += 1
                    if documents > 1 { throw TenderError(.validation, "line \(line): a file holds one document; found a second '---'") }
                case YAML_ALIAS_EVENT:
                    throw TenderError(.validation, "line \(line): YAML aliases (*name) are not supported in documents")
                case YAML_SCALAR_EVENT:
                    anchored = event.data.scalar.anchor != nil
                case YAML_SEQUENCE_START_EVENT:
                    anchored = event.data.sequence_start.anchor != nil
                    depth += 1
                case YAML_MAPPING_START_EVENT:
                    anchored = event.data.mapping_start.anchor != nil
                    depth += 1
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                default:
                    break
                }
                if anchored { throw TenderError(.validation, "line \(line): YAML anchors (&name) are not supported in documents") }
                if depth > maxDepth { throw TenderError(.validation, "line \(line): nested deeper than \(maxDepth) levels") }
            }
        }
    }

    private static func syntaxError(_ parser: yaml_parser_t) -> TenderError {
        let problem = parser.problem.map { String(cString: $0) } ?? "cannot be read"
        let context = parser.context.map { " (\(String(cString: $0)))" } ?? ""
        let mark = parser.problem_mark
        // libyaml's own guard (1000 levels) can trip first, while it scans ahead in flow context.
        if problem.hasPrefix("Maximum nesting level") {
            return TenderError(.validation, "line \(mark.line + 1): nested deeper than \(maxDepth) levels")
        }
        return TenderError(.validation, "not valid YAML: line \(mark.line + 1), column \(mark.column + 1): \(problem)\(context)")
    }

    /// Yams' own descriptions quote the whole text; an error here is one line.
    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { quoted($0) }.joined(separator: ", ")
            return "not valid YAML: line \(context.mark.line): duplicate key \(keys)"
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "not valid YAML: line \(mark.line), column \(mark.column): \(problem)"
        case .reader(let problem, _, _, _):
            return "not valid YAML: \(problem)"
        default:
            return "not valid YAML"
        }
    }

    private static func convert(_ node: Node) throws -> SourceValue {
        switch node {
        case .scalar(let scalar):
            return try resolve(scalar)
        case .sequence(let sequence):
            return .list(try sequence.map(convert))
        case .mapping(let mapping):
            return .object(try mapping.map { key, value in
                guard case .scalar(let keyScalar) = key else {
                    let line = key.mark.map { "line \($0.line): " } ?? ""
                    throw TenderError(.validation, "\(line)mapping keys must be plain strings")
                }
                return (keyScalar.string, try convert(value))
            })
        case .alias(let alias):
            let line = alias.mark.map { "line \($0.line): " } ?? ""
            throw TenderError(.validation, "\(line)YAML aliases (*name) are not supported in documents")
        }
    }

    private static func resolve(_ scalar: Node.Scalar) throws -> SourceValue {
        let text = scalar.string
        switch Tag.Name(rawValue: scalar.tag.rawValue) {
        case .str, .nonSpecific:  // `! 5` is YAML for "the string 5"
            return .string(text)
        case .implicit:
            return scalar.style == .plain ? plain(text) : .string(text)
        case .int, .bool, .null, .float:
            return plain(text)
        default:
            let line = scalar.mark.map { "line \($0.line): " } ?? ""
            throw TenderError(.validation, "\(line)YAML tag '\(scalar.tag.rawValue)' is not supported in documents")
        }
    }

    /// YAML 1.2 core schema for untagged plain scalars.
    private static func plain(_ text: String) -> SourceValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
            return .number(text)
        default: break
        }
        switch numberForm(text) {
        case .integer: return Int(text).map(SourceValue.integer) ?? .number(text)
        case .fraction: return .number(text)
        case nil: return .string(text)
        }
    }

    enum NumberForm { case integer, fraction }

    /// Whether `text` is `[-+]?[0-9]+` (an integer) or
    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` (a float), read by hand:
    /// a `Regex` literal is parsed and compiled again each time it is used, which
    /// was 90% of reading a document of many short scalars (30,000 took 4.7 s).
    static func numberForm(_ text: String) -> NumberForm? {
        let bytes = text.utf8
        var index = bytes.startIndex
        func skipDigits() -> Int {
            var count = 0
            while index != bytes.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                bytes.formIndex(after: &index)
                count += 1
            }
            return count
        }
        func skip(_ allowed: String) {
            if index != bytes.endIndex, allowed.utf8.contains(bytes[index]) { bytes.formIndex(after: &index) }
        }
        skip("+-")
        let whole = skipDigits()
        if index == bytes.endIndex { return whole > 0 ? .integer : nil }
        if bytes[index] == UInt8(ascii: ".") {
            bytes.formIndex(after: &index)
            guard skipDigits() > 0 || whole > 0 else { return nil }
        } else if whole == 0 {
            return nil
        }
        if index != bytes.endIndex, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            bytes.formIndex(after: &index)
            skip("+-")
            guard skipDigits() > 0 else { return nil }
        }
        return index == bytes.endIndex ? .fraction : nil
    }
}
