/// The `{{ name }}` references inside one input string.
///
/// A string is split once into text and references and rendered from those
/// pieces, so a substituted value is never scanned again: a value that itself
/// reads `{{ other }}` reaches the agent as that literal text. Braces that do not
/// enclose a parameter-like name (`{{.State.Running}}` in a docker format string)
/// are plain text.
struct ParameterTemplate: Equatable {
    enum Segment: Equatable {
        case text(String)
        case reference(String)
    }

    let segments: [Segment]

    init(_ text: String) {
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            literal += rest[..<open.lowerBound]
            let inside = rest[open.upperBound...].drop(while: Self.isBlank)
            let name = inside.prefix(while: Self.isNameCharacter)
            let after = inside[name.endIndex...].drop(while: Self.isBlank)
            if !name.isEmpty, after.hasPrefix("}}") {
                if !literal.isEmpty { segments.append(.text(literal)) }
                literal = ""
                segments.append(.reference(String(name)))
                rest = after.dropFirst(2)
            } else {
                // Step past one brace only, so `{{{ x }}}` still finds `{{ x }}`.
                literal += "{"
                rest = rest[rest.index(after: open.lowerBound)...]
            }
        }
        literal += rest
        if !literal.isEmpty || segments.isEmpty { segments.append(.text(literal)) }
        self.segments = segments
    }

    static func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" }

    static func isNameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_")
    }

    /// Parameter names referenced, in order of appearance.
    var references: [String] {
        segments.compactMap { if case .reference(let name) = $0 { name } else { nil } }
    }

    /// The name when the whole string is exactly one reference: the one place a
    /// StringList value may go, since it becomes a list rather than text.
    var soleReference: String? {
        if segments.count == 1, case .reference(let name) = segments[0] { return name }
        return nil
    }

    /// The text with each reference replaced by its value. Names missing from
    /// `values` or bound to lists are left to the caller, which has checked them.
    func render(_ values: ParameterValues) -> String {
        segments.map { segment in
            switch segment {
            case .text(let text): return text
            case .reference(let name):
                switch values[name] {
                case .string(let value): return value
                case .list(let items): return items.joined(separator: "\n")
                case nil: return "{{ \(name) }}"
                }
            }
        }.joined()
    }
}
