/// A parameter's value as given by an operator or taken from a default.
///
/// Every parameter type travels as text (an Integer is `"30"`, a Boolean
/// `"true"`), as in SSM; only StringList has a different shape.
public enum ParameterValue: Sendable, Equatable, Hashable {
    case string(String)
    case list([String])

    /// The items, with a single string counting as a one-item list (what
    /// `--param commands=ls` means for a StringList).
    public var items: [String] {
        switch self {
        case .string(let value): return [value]
        case .list(let values): return values
        }
    }
}

/// Parameter values by parameter name.
public typealias ParameterValues = [String: ParameterValue]

extension ParameterValue: Codable {
    /// Accepts a string, a whole number, a boolean, or an array of strings, so
    /// that API clients may write `{"count": 3}` as well as `{"count": "3"}`.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .string(String(value))
        } else if let value = try? container.decode(Int.self) {
            self = .string(String(value))
        } else if let values = try? container.decode([String].self) {
            self = .list(values)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "a parameter value must be a string or an array of strings")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .list(let values): try container.encode(values)
        }
    }
}
