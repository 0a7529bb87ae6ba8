/// One declared parameter of a document, with the rules its value must keep.
public struct DocumentParameter: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case string = "String"
        case stringList = "StringList"
        case integer = "Integer"
        case boolean = "Boolean"
    }

    public internal(set) var name: String
    public internal(set) var type: Kind
    public internal(set) var description: String?
    /// Nil makes the parameter required.
    public internal(set) var defaultValue: ParameterValue?
    public internal(set) var allowedValues: [String]?
    /// A regular expression each value (each item, for a StringList) must match
    /// as a whole, as in SSM: `[a-z]+` does not accept `abc1`.
    public internal(set) var allowedPattern: String?
    public internal(set) var minItems: Int?
    public internal(set) var maxItems: Int?
    public internal(set) var minChars: Int?
    public internal(set) var maxChars: Int?

    public var isRequired: Bool { defaultValue == nil }

    /// `value` in this parameter's shape (a single string counts as a one-item
    /// StringList), and every rule it breaks, phrased to follow
    /// "parameter 'name': " or a field path.
    func check(_ value: ParameterValue) -> (value: ParameterValue, violations: [String]) {
        var violations: [String] = []
        let items: [String]
        let shaped: ParameterValue
        switch (type, value) {
        case (.stringList, _):
            items = value.items
            shaped = .list(items)
        case (_, .string(let text)):
            items = [text]
            shaped = value
        case (_, .list(let list)):
            return (value, ["expects a single \(type.rawValue), got a list of \(list.count)"])
        }

        if type == .stringList {
            if let minItems, items.count < minItems { violations.append("has \(items.count) items, fewer than minItems \(minItems)") }
            if let maxItems, items.count > maxItems { violations.append("has \(items.count) items, more than maxItems \(maxItems)") }
        }
        let pattern = allowedPattern.flatMap { try? Regex($0) }
        for item in items {
            switch type {
            case .integer where Int(item) == nil || item.hasPrefix("+"):
                violations.append("\(quoted(item)) is not an Integer")
            case .boolean where item != "true" && item != "false":
                violations.append("\(quoted(item)) is not a Boolean (true or false)")
            default:
                break
            }
            if let allowedValues, !allowedValues.contains(item) {
                violations.append("\(quoted(item)) is not one of the allowed values \(allowedValues.joined(separator: ", "))")
            }
            if let pattern, let allowedPattern, (try? pattern.wholeMatch(in: item)) == nil {
                violations.append("\(quoted(item)) does not match the allowed pattern \(quoted(allowedPattern))")
            }
            if let minChars, item.count < minChars {
                violations.append("\(quoted(item)) is shorter than minChars \(minChars)")
            }
            if let maxChars, item.count > maxChars {
                violations.append("\(quoted(item)) is longer than maxChars \(maxChars)")
            }
        }
        return (shaped, violations)
    }
}
