import TenderWire
/// Parameter values from the operator's command line.
///
/// Everything becomes text or a list of text here; what the text must look like
/// is the document's business (`CommandDocument.resolveParameters`), so the same
/// rules apply whether values came from flags, JSON or the API.
public enum ParameterInput {
    /// Values from repeated `--param KEY=VALUE` and an optional `--params-json`.
    ///
    /// - `KEY=VALUE` splits at the first `=`; the value may be empty or hold `=`.
    ///   The same KEY again makes a list, in order (`--param commands=a --param
    ///   commands=b`); once, it is a single value, which a StringList reads as one item.
    /// - JSON is an object whose members are a string, number or boolean (taken as
    ///   its text, `3` → `"3"`) or a list of those.
    /// - A KEY in both is refused rather than one silently winning.
    ///
    /// Throws one `ValidationError` listing every bad argument.
    public static func values(params: [String] = [], paramsJSON: String? = nil) throws -> ParameterValues {
        var problems: [String] = []
        var values: ParameterValues = [:]
        if let paramsJSON {
            do {
                values = try fromJSON(paramsJSON, problems: &problems)
            } catch let error as TenderError {
                problems.append("--params-json: \(error.message)")
            }
        }
        let fromJSON = Set(values.keys)
        var reportedTwice = Set<String>()
        for argument in params {
            guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                problems.append("--param \(quoted(argument)): expected KEY=VALUE")
                continue
            }
            let key = String(argument[..<equals])
            let value = String(argument[argument.index(after: equals)...])
            if fromJSON.contains(key) {
                if reportedTwice.insert(key).inserted {
                    problems.append("parameter '\(key)': given both in --params-json and --param")
                }
                continue
            }
            switch values[key] {
            case nil: values[key] = .string(value)
            case .string(let first)?: values[key] = .list([first, value])
            case .list(let items)?: values[key] = .list(items + [value])
            }
        }
        guard problems.isEmpty else { throw TenderError.lines(problems) }
        return values
    }

    private static func fromJSON(_ text: String, problems: inout [String]) throws -> ParameterValues {
        guard case .object(let members) = try JSONTreeReader.read(text) else {
            throw TenderError.validation("must be a JSON object such as {\"commands\": [\"uptime\"]}")
        }
        var values: ParameterValues = [:]
        for (key, member) in members {
            let shape = "--params-json: parameter '\(key)' must be a string, number, boolean or a list of those"
            if let text = scalarText(member) {
                values[key] = .string(text)
            } else if case .list(let items) = member {
                let texts = items.compactMap(scalarText)
                if texts.count == items.count {
                    values[key] = .list(texts)
                } else {
                    problems.append(shape)
                }
            } else {
                problems.append(shape)
            }
        }
        return values
    }

    private static func scalarText(_ value: SourceValue) -> String? {
        if case .null = value { return nil }
        return value.scalarText
    }
}
