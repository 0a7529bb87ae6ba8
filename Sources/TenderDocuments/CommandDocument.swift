import TenderWire
/// A command document (SSM schema 2.2 style): parameters and the steps that use them.
///
/// Values of this type come only from `DocumentParser` (or `BuiltinDocuments`),
/// so every one has passed validation; the controller resolves parameters and
/// interpolates here, before anything is sent, and the agent receives only
/// `ResolvedStep`s.
public struct CommandDocument: Sendable, Equatable {
    public static let supportedSchemaVersions = ["2.0", "2.2"]

    public internal(set) var schemaVersion: String
    public internal(set) var description: String?
    /// In declaration order.
    public internal(set) var parameters: [DocumentParameter]
    /// In run order.
    public internal(set) var mainSteps: [DocumentStep]

    public func parameter(named name: String) -> DocumentParameter? {
        parameters.first { $0.name == name }
    }

    /// Every declared parameter's value: `given` checked against its rules, or its
    /// default. Throws one `ValidationError` listing every bad value, each line
    /// naming the parameter and the rule (`parameter 'count': 'abc' is not an Integer`).
    ///
    /// StringList values come back as lists (a single string is one item), others
    /// as strings. Resolving an already resolved set gives it back unchanged.
    public func resolveParameters(_ given: ParameterValues) throws -> ParameterValues {
        var problems: [String] = []
        let declared = parameters.map(\.name)
        for name in given.keys.sorted() where !declared.contains(name) {
            let takes = declared.isEmpty ? "it takes no parameters" : "it takes \(declared.joined(separator: ", "))"
            problems.append("parameter '\(name)': not declared by this document (\(takes))")
        }
        var resolved: ParameterValues = [:]
        var patternSteps = LinearPattern.maxStepsPerRequest  // shared by all parameters
        for parameter in parameters {
            guard let value = given[parameter.name] else {
                if let defaultValue = parameter.defaultValue {
                    resolved[parameter.name] = defaultValue
                } else {
                    problems.append("parameter '\(parameter.name)': is required and has no default")
                }
                continue
            }
            let (shaped, violations) = parameter.check(value, patternSteps: &patternSteps)
            problems += violations.map { "parameter '\(parameter.name)': \($0)" }
            resolved[parameter.name] = shaped
        }
        guard problems.isEmpty else { throw TenderError.lines(problems) }
        return resolved
    }

    /// The steps with every `{{ name }}` replaced, ready to send.
    ///
    /// `parameters` go through `resolveParameters` first, so raw operator input is
    /// fine. A StringList standing alone as a list item is spliced in as items; as
    /// a whole value it becomes the list. Substituted text is not scanned again.
    /// Shell-script inputs are checked again with real values (a `timeoutSeconds`
    /// from a parameter must be in range) and normalised; see `RunShellScriptInputs`.
    public func resolvedSteps(parameters given: ParameterValues) throws -> [ResolvedStep] {
        let values = try resolveParameters(given)
        var problems = ProblemList()
        var steps: [ResolvedStep] = []
        for (index, step) in mainSteps.enumerated() {
            let path = FieldPath.key(FieldPath.index("mainSteps", index), "inputs")
            guard var inputs = Self.interpolate(step.inputs, with: values, at: path, into: &problems) else { continue }
            if step.inputsRule == .shellScript {
                guard let shell = RunShellScriptInputs.check(inputs, at: path, references: nil, into: &problems) else { continue }
                inputs = shell.documentValue
            }
            steps.append(ResolvedStep(
                action: step.action, name: step.name, inputs: inputs, precondition: step.precondition,
                onFailure: step.onFailure, onSuccess: step.onSuccess, finallyStep: step.finallyStep))
        }
        guard problems.isEmpty else { throw TenderError.problems(problems.items) }
        return steps
    }

    /// Replaces references in every string of `value`. Returns nil after adding a
    /// problem for a reference it cannot fill (undeclared, or a list inside text).
    static func interpolate(
        _ value: DocumentValue, with values: ParameterValues, at path: String, into problems: inout ProblemList
    ) -> DocumentValue? {
        switch value {
        case .string(let text):
            let template = ParameterTemplate(text)
            if let name = template.soleReference, case .list(let items)? = values[name] {
                return .list(items.map(DocumentValue.string))
            }
            var fillable = true
            for name in Set(template.references).sorted() {
                switch values[name] {
                case nil:
                    problems.add(path, "references undeclared parameter '\(name)'")
                    fillable = false
                case .list?:
                    problems.add(path, "parameter '\(name)' is a StringList; it must stand alone as a whole value or list item, not inside other text")
                    fillable = false
                case .string?:
                    break
                }
            }
            return fillable ? .string(template.render(values)) : nil
        case .list(let items):
            var result: [DocumentValue] = []
            var fillable = true
            for (index, item) in items.enumerated() {
                let itemPath = FieldPath.index(path, index)
                // A StringList alone in a list item becomes that many items, not a nested list.
                if case .string(let text) = item, let name = ParameterTemplate(text).soleReference,
                    case .list(let spliced)? = values[name]
                {
                    result += spliced.map(DocumentValue.string)
                } else if let filled = interpolate(item, with: values, at: itemPath, into: &problems) {
                    result.append(filled)
                } else {
                    fillable = false
                }
            }
            return fillable ? .list(result) : nil
        case .object(let members):
            var result: [String: DocumentValue] = [:]
            var fillable = true
            for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                if let filled = interpolate(member, with: values, at: FieldPath.key(path, key), into: &problems) {
                    result[key] = filled
                } else {
                    fillable = false
                }
            }
            return fillable ? .object(result) : nil
        case .integer, .bool, .null:
            return value
        }
    }
}
