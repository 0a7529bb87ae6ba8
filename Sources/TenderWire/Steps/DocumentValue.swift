/// A step's `inputs`: the JSON data model minus fractional numbers.
///
/// Inputs are free-form per action, so they stay a value tree rather than a
/// struct; it encodes to plain JSON (`"x"`, `3`, `[..]`, `{..}`) because it
/// travels to the agent inside a `ResolvedStep`. Fractions are left out on
/// purpose: no action takes one, and a `3600.0` that silently became `3600`
/// or `"3600.0"` would be a guess.
public enum DocumentValue: Sendable, Equatable, Hashable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case list([DocumentValue])
    case object([String: DocumentValue])
    case null

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var integerValue: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var listValue: [DocumentValue]? {
        if case .list(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: DocumentValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The member `key` of an object; nil for a missing key or a non-object.
    public subscript(key: String) -> DocumentValue? {
        objectValue?[key]
    }
}

extension DocumentValue: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([DocumentValue].self) {
            self = .list(value)
        } else if let value = try? container.decode([String: DocumentValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a string, whole number, boolean, array, object or null")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .list(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}

extension DocumentValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: DocumentValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, DocumentValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}
