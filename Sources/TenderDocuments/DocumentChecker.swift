import TenderWire
/// Turns a read `SourceValue` into a `CommandDocument`, collecting every problem
/// on the way instead of stopping at the first.
///
/// Each part is checked as far as it can be on its own, and rules that build on
/// a broken part are skipped (a default is not checked against a pattern that
/// does not compile), so one mistake is reported once.
struct DocumentChecker {
    private(set) var problems = ProblemList()
    /// The actions steps may use.
    let actions: StepActionCatalog
    /// Defaults are checked against their patterns like a request's values, with one
    /// budget for the whole document (see `DocumentParameter.check`).
    private var patternSteps = LinearPattern.maxStepsPerRequest

    init(actions: StepActionCatalog = .standard) {
        self.actions = actions
    }

    static let documentFields = ["schemaVersion", "description", "parameters", "mainSteps"]
    /// `displayType` is SSM console metadata; it is accepted so SSM documents load, and ignored.
    static let parameterFields = [
        "type", "description", "default", "allowedValues", "allowedPattern",
        "minItems", "maxItems", "minChars", "maxChars", "displayType",
    ]
    static let stepFields = ["action", "name", "inputs", "precondition", "onFailure", "onSuccess", "finallyStep"]

    mutating func document(_ root: SourceValue) -> CommandDocument? {
        guard case .object(let fields) = root else {
            problems.add("", "a document is an object with schemaVersion and mainSteps, got \(root.kindName)")
            return nil
        }
        let field = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        unknownFields(fields, allowed: Self.documentFields, at: "", what: "a document")

        var schemaVersion = ""
        switch field["schemaVersion"] {
        case nil:
            problems.add("schemaVersion", "is required; use '2.2'")
        case let value?:
            if let text = value.scalarText, CommandDocument.supportedSchemaVersions.contains(text) {
                schemaVersion = text
            } else {
                problems.add("schemaVersion", "\(value.scalarText.map { quoted($0) } ?? value.kindName) is not supported; use '2.2'")
            }
        }
        let description = optionalString(field["description"], at: "description")

        var parameters: [DocumentParameter] = []
        var declared: [String: DocumentParameter.Kind] = [:]
        var declaredNames = Set<String>()
        switch field["parameters"] {
        case nil, .null?: break
        case .object(let specs)?:
            for (name, spec) in specs {
                declaredNames.insert(name)
                if let parameter = self.parameter(name, spec) {
                    parameters.append(parameter)
                    declared[name] = parameter.type
                }
            }
        case let other?:
            problems.add("parameters", "must be an object of parameter declarations, got \(other.kindName)")
        }

        var steps: [DocumentStep] = []
        switch field["mainSteps"] {
        case nil:
            problems.add("mainSteps", "is required")
        case .list(let items)?:
            if items.isEmpty { problems.add("mainSteps", "must have at least one step") }
            var firstUse: [String: Int] = [:]
            for (index, item) in items.enumerated() {
                let path = FieldPath.index("mainSteps", index)
                let step = self.step(item, at: path, isLast: index == items.count - 1, declared: declared, declaredNames: declaredNames)
                // Judged on the raw name, so a step with other problems still shows up as a duplicate.
                if case .object(let stepFields) = item, case .string(let name)? = stepFields.first(where: { $0.key == "name" })?.value {
                    if let first = firstUse[name] {
                        problems.add(FieldPath.key(path, "name"), "duplicate step name \(quoted(name)) (also mainSteps[\(first)])")
                    } else {
                        firstUse[name] = index
                    }
                }
                if let step { steps.append(step) }
            }
        case let other?:
            problems.add("mainSteps", "must be a list of steps, got \(other.kindName)")
        }

        guard problems.isEmpty else { return nil }
        return CommandDocument(schemaVersion: schemaVersion, description: description, parameters: parameters, mainSteps: steps)
    }

    // MARK: Parameters

    private mutating func parameter(_ name: String, _ spec: SourceValue) -> DocumentParameter? {
        let path = FieldPath.key("parameters", name)
        let before = problems.items.count
        if name.isEmpty || !name.allSatisfy(ParameterTemplate.isNameCharacter) {
            problems.add(path, "parameter names may use only letters, digits and '_'")
        }
        guard case .object(let fields) = spec else {
            problems.add(path, "must be an object with at least a type, got \(spec.kindName)")
            return nil
        }
        let field = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        unknownFields(fields, allowed: Self.parameterFields, at: path, what: "a parameter")

        let typePath = FieldPath.key(path, "type")
        var kind: DocumentParameter.Kind?
        switch field["type"] {
        case nil:
            problems.add(typePath, "is required: String, StringList, Integer or Boolean")
        case let value?:
            kind = value.scalarText.flatMap(DocumentParameter.Kind.init(rawValue:))
            if kind == nil {
                let shown = value.scalarText.map { quoted($0) } ?? value.kindName
                problems.add(typePath, "\(shown) is not a parameter type; use String, StringList, Integer or Boolean")
            }
        }
        let description = optionalString(field["description"], at: FieldPath.key(path, "description"))
        _ = optionalString(field["displayType"], at: FieldPath.key(path, "displayType"))

        var allowedValues: [String]?
        let allowedPath = FieldPath.key(path, "allowedValues")
        switch field["allowedValues"] {
        case nil: break
        case .list(let items)?:
            if items.isEmpty { problems.add(allowedPath, "must list at least one value") }
            var values: [String] = []
            for (index, item) in items.enumerated() {
                if let text = item.scalarText {
                    values.append(text)
                } else {
                    problems.add(FieldPath.index(allowedPath, index), "must be a string, got \(item.kindName)")
                }
            }
            allowedValues = values
        case let other?:
            problems.add(allowedPath, "must be a list of values, got \(other.kindName)")
        }

        let patternPath = FieldPath.key(path, "allowedPattern")
        let allowedPattern = optionalString(field["allowedPattern"], at: patternPath)
        var pattern: LinearPattern?
        var patternCompiles = true
        if let allowedPattern {
            do {
                pattern = try LinearPattern(allowedPattern)
            } catch {
                problems.add(patternPath, "\(quoted(allowedPattern)) is not a valid regular expression: \(error.message)")
                patternCompiles = false
            }
        }

        var limits: [String: Int] = [:]
        for limit in ["minItems", "maxItems", "minChars", "maxChars"] {
            let limitPath = FieldPath.key(path, limit)
            switch field[limit] {
            case nil: continue
            case .integer(let value)? where value >= 0:
                limits[limit] = value
            case let other?:
                problems.add(limitPath, "must be a whole number of at least 0, got \(other.scalarText.map { quoted($0) } ?? other.kindName)")
                continue
            }
            if limit.hasSuffix("Items"), let kind, kind != .stringList {
                problems.add(limitPath, "applies only to StringList parameters")
            }
            if limit.hasSuffix("Chars"), let kind, kind != .string, kind != .stringList {
                problems.add(limitPath, "applies only to String and StringList parameters")
            }
        }
        for (low, high) in [("minItems", "maxItems"), ("minChars", "maxChars")] {
            if let min = limits[low], let max = limits[high], min > max {
                problems.add(FieldPath.key(path, low), "\(min) is more than \(high) \(max)")
            }
        }

        let defaultPath = FieldPath.key(path, "default")
        var defaultValue: ParameterValue?
        switch field["default"] {
        case nil: break
        case .list(let items)?:
            var values: [String] = []
            for (index, item) in items.enumerated() {
                if let text = item.scalarText {
                    values.append(text)
                } else {
                    problems.add(FieldPath.index(defaultPath, index), "must be a string, got \(item.kindName)")
                }
            }
            defaultValue = .list(values)
        case .null?:
            problems.add(defaultPath, "has no value; write '' for an empty default")
        case let value?:
            if let text = value.scalarText {
                defaultValue = .string(text)
            } else {
                problems.add(defaultPath, "must be a value or a list of values, got \(value.kindName)")
            }
        }

        // The default is judged by whatever rules could be read, unless the type or
        // pattern it would be judged by is itself broken.
        guard let kind, patternCompiles else { return nil }
        var parameter = DocumentParameter(
            name: name, type: kind, description: description, defaultValue: nil, allowedValues: allowedValues,
            pattern: pattern, minItems: limits["minItems"], maxItems: limits["maxItems"],
            minChars: limits["minChars"], maxChars: limits["maxChars"])
        if let defaultValue {
            let (shaped, violations) = parameter.check(defaultValue, patternSteps: &patternSteps)
            for violation in violations { problems.add(defaultPath, violation) }
            parameter.defaultValue = shaped
        }
        return problems.items.count == before ? parameter : nil
    }

    // MARK: Steps

    private mutating func step(
        _ item: SourceValue, at path: String, isLast: Bool, declared: [String: DocumentParameter.Kind], declaredNames: Set<String>
    ) -> DocumentStep? {
        let before = problems.items.count
        guard case .object(let fields) = item else {
            problems.add(path, "a step is an object with action, name and inputs, got \(item.kindName)")
            return nil
        }
        let field = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        unknownFields(fields, allowed: Self.stepFields, at: path, what: "a step")

        let actionPath = FieldPath.key(path, "action")
        let action = requiredString(field["action"], at: actionPath)
        let rule = action.flatMap { actions.inputsRule(of: $0) }
        if let action, rule == nil {
            let known = actions.actions.joined(separator: ", ")
            problems.add(actionPath, "unknown action \(quoted(action)); known actions are \(known)")
        }

        let namePath = FieldPath.key(path, "name")
        let name = requiredString(field["name"], at: namePath)
        if let name, !Self.isStepName(name) {
            problems.add(namePath, "\(quoted(name)) is not a step name: 1 to 100 of letters, digits, '_', '.', '-'")
        }

        let inputsPath = FieldPath.key(path, "inputs")
        var inputs: DocumentValue = .object([:])
        switch field["inputs"] {
        case nil:
            if rule == .shellScript { problems.add(inputsPath, "is required") }
        case .object(let members)?:
            if let value = documentValue(.object(members), at: inputsPath) { inputs = value }
        case let other?:
            problems.add(inputsPath, "must be an object, got \(other.kindName)")
        }
        checkReferences(inputs, at: inputsPath, declared: declared, declaredNames: declaredNames)
        if rule == .shellScript, field["inputs"] != nil {
            _ = RunShellScriptInputs.check(inputs, at: inputsPath, references: DeclaredReferences(declared: declared), into: &problems)
        }

        let precondition = field["precondition"].flatMap { self.precondition($0, at: FieldPath.key(path, "precondition")) }

        var onFailure: StepOnFailure?
        if let value = field["onFailure"] {
            onFailure = value.scalarText.flatMap { StepOnFailure.spellings[$0] }
            if onFailure == nil {
                problems.add(FieldPath.key(path, "onFailure"), "\(value.scalarText.map { quoted($0) } ?? value.kindName) is not exit, successAndExit or Abort")
            }
        }
        var onSuccess: StepOnSuccess?
        if let value = field["onSuccess"] {
            onSuccess = value.scalarText.flatMap(StepOnSuccess.init(rawValue:))
            if onSuccess == nil {
                problems.add(FieldPath.key(path, "onSuccess"), "\(value.scalarText.map { quoted($0) } ?? value.kindName) is not exit")
            }
        }
        var finallyStep = false
        switch field["finallyStep"] {
        case nil: break
        case .bool(let value)?:
            finallyStep = value
            if value, !isLast { problems.add(FieldPath.key(path, "finallyStep"), "only the last step can be a finally step") }
        case let other?:
            problems.add(FieldPath.key(path, "finallyStep"), "must be true or false, got \(other.kindName)")
        }

        guard problems.items.count == before, let action, let rule, let name else { return nil }
        return DocumentStep(
            action: action, inputsRule: rule, name: name, inputs: inputs, precondition: precondition, onFailure: onFailure,
            onSuccess: onSuccess, finallyStep: finallyStep)
    }

    static func isStepName(_ name: String) -> Bool {
        (1...100).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
    }

    private mutating func precondition(_ value: SourceValue, at path: String) -> StepPrecondition? {
        let form = "only {\"StringEquals\": [\"platformType\", \"Linux\"]} is supported"
        guard case .object(let fields) = value, fields.count == 1, fields[0].key == "StringEquals" else {
            problems.add(path, form)
            return nil
        }
        let operandsPath = FieldPath.key(path, "StringEquals")
        guard case .list(let operands) = fields[0].value, operands.count == 2 else {
            problems.add(operandsPath, "must be a list of two operands: [platformType, Linux]")
            return nil
        }
        var valid = true
        if operands[0] != .string("platformType") {
            problems.add(FieldPath.index(operandsPath, 0), "\(operands[0].scalarText.map { quoted($0) } ?? operands[0].kindName) is not platformType")
            valid = false
        }
        let platform = operands[1].scalarText ?? ""
        if operands[1] != .string(platform) || !StepPrecondition.supportedPlatformTypes.contains(platform) {
            problems.add(FieldPath.index(operandsPath, 1), "\(operands[1].scalarText.map { quoted($0) } ?? operands[1].kindName) is not a supported platform type (Linux)")
            valid = false
        }
        return valid ? StepPrecondition(platformType: platform) : nil
    }

    // MARK: Values

    /// Converts inputs to the wire value type; fractions are refused (see `DocumentValue`).
    private mutating func documentValue(_ value: SourceValue, at path: String) -> DocumentValue? {
        switch value {
        case .string(let text): return .string(text)
        case .integer(let number): return .integer(number)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        case .number(let text):
            problems.add(path, "\(text) is not a whole number; quote it to pass it as text")
            return nil
        case .list(let items):
            var values: [DocumentValue] = []
            for (index, item) in items.enumerated() {
                if let converted = documentValue(item, at: FieldPath.index(path, index)) { values.append(converted) }
            }
            return values.count == items.count ? .list(values) : nil
        case .object(let members):
            var object: [String: DocumentValue] = [:]
            for (key, member) in members {
                if let converted = documentValue(member, at: FieldPath.key(path, key)) { object[key] = converted }
            }
            return object.count == members.count ? .object(object) : nil
        }
    }

    /// Every `{{ name }}` must name a declared parameter, and a StringList may only
    /// stand alone (a whole value or list item), where it becomes list items.
    private mutating func checkReferences(
        _ value: DocumentValue, at path: String, declared: [String: DocumentParameter.Kind], declaredNames: Set<String>
    ) {
        switch value {
        case .string(let text):
            let template = ParameterTemplate(text)
            var reported = Set<String>()
            for name in template.references where reported.insert(name).inserted {
                if !declaredNames.contains(name) {
                    problems.add(path, "references undeclared parameter '\(name)'")
                } else if declared[name] == .stringList, template.soleReference == nil {
                    problems.add(path, "parameter '\(name)' is a StringList; it must stand alone as a whole value or list item, not inside other text")
                }
            }
        case .list(let items):
            for (index, item) in items.enumerated() {
                checkReferences(item, at: FieldPath.index(path, index), declared: declared, declaredNames: declaredNames)
            }
        case .object(let members):
            for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                checkReferences(member, at: FieldPath.key(path, key), declared: declared, declaredNames: declaredNames)
            }
        case .integer, .bool, .null:
            break
        }
    }

    // MARK: Helpers

    private mutating func unknownFields(_ fields: [(key: String, value: SourceValue)], allowed: [String], at path: String, what: String) {
        for (key, _) in fields where !allowed.contains(key) {
            problems.add(FieldPath.key(path, key), "unknown field; \(what) has \(allowed.filter { $0 != "displayType" }.joined(separator: ", "))")
        }
    }

    private mutating func optionalString(_ value: SourceValue?, at path: String) -> String? {
        switch value {
        case nil: return nil
        case .string(let text)?: return text
        case let other?:
            problems.add(path, "must be a string, got \(other.kindName)")
            return nil
        }
    }

    private mutating func requiredString(_ value: SourceValue?, at path: String) -> String? {
        guard let value else {
            problems.add(path, "is required")
            return nil
        }
        return optionalString(value, at: path)
    }
}
