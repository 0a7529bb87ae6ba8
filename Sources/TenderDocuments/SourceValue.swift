/// A document as read from YAML or JSON, before it is checked.
///
/// Both formats land here so that one checker serves both and reports the same
/// paths. Object keys keep their order (parameters are shown in declaration
/// order), and numbers that are not whole keep their text: the checker decides
/// what each field makes of them (`schemaVersion: 2.2` is a version, not a fraction).
indirect enum SourceValue: Equatable {
    case string(String)
    case integer(Int)
    /// A number that is not a whole `Int` (`2.2`, `1e3`, `.inf`), as written.
    case number(String)
    case bool(Bool)
    case null
    case list([SourceValue])
    case object([(key: String, value: SourceValue)])

    static func == (lhs: SourceValue, rhs: SourceValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        case (.list(let a), .list(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// What the value is, for messages like "must be a string, got a list".
    var kindName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "a whole number"
        case .number: return "a fractional number"
        case .bool: return "a boolean"
        case .null: return "null"
        case .list: return "a list"
        case .object: return "an object"
        }
    }

    /// The text of a scalar, for fields that are text whatever YAML made of them
    /// (`default: 3600` for a String parameter, `schemaVersion: 2.2`).
    var scalarText: String? {
        switch self {
        case .string(let value): return value
        case .integer(let value): return String(value)
        case .number(let value): return value
        case .bool(let value): return String(value)
        case .null, .list, .object: return nil
        }
    }
}
