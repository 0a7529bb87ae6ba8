import TenderWire
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
    /// The regular expression each value (each item, for a StringList) must match
    /// as a whole, as in SSM: `[a-z]+` does not accept `abc1`. Compiled once, when
    /// the document is read; see `LinearPattern` for what it accepts and costs.
    public internal(set) var pattern: LinearPattern?
    public internal(set) var minItems: Int?
    public internal(set) var maxItems: Int?
    public internal(set) var minChars: Int?
    public internal(set) var maxChars: Int?

    public var isRequired: Bool { defaultValue == nil }

    /// `pattern` as written in the document.
    public var allowedPattern: String? { pattern?.source }

    /// `value` in this parameter's shape (a single string counts as a one-item
    /// StringList), and every rule it breaks, phrased to follow
    /// "parameter 'name': " or a field path.
    ///
    /// `patternSteps` is what is left of the matching work the whole request may do
    /// (`LinearPattern.maxStepsPerRequest`); an item whose worst case does not fit is
    /// refused unmatched, so many values against large patterns cannot add up.
    func check(_ value: ParameterValue, patternSteps: inout Int) -> (value: ParameterValue, violations: [String]) {
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
            if let pattern {
                let steps = pattern.worstCaseSteps(item)
                if steps > patternSteps {
                    violations.append(
                        "\(quoted(item)) is too long to check against the allowed pattern: \(item.unicodeScalars.count) "
                            + "characters against its \(pattern.programSize) steps would take \(steps) steps, and a request "
                            + "may spend \(LinearPattern.maxStepsPerRequest) on patterns; shorten the value or simplify the pattern")
                } else {
                    patternSteps -= steps
                    if !pattern.matchesWhole(item) {
                        violations.append("\(quoted(item)) does not match the allowed pattern \(quoted(pattern.source))")
                    }
                }
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
