/// One thing wrong with a document, named by where it is.
///
/// Documents are written by hand and fixed by trial; reporting every problem at
/// once, each with its field path, saves the operator one round trip per mistake.
public struct DocumentProblem: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Where the problem is, as a field path: `mainSteps[1].inputs.runCommand`,
    /// `parameters.commands.type`. Empty when it concerns the document as a whole
    /// (too large, not YAML at all).
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message`, the form the CLI prints one per line.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

extension TenderError {
    /// The single `ValidationError` that carries several problems: one per line, so
    /// that the API keeps its one-error shape and a person still sees the whole list.
    package static func problems(_ problems: [DocumentProblem]) -> TenderError {
        lines(problems.map(\.description))
    }

    package static func lines(_ lines: [String]) -> TenderError {
        TenderError(.validation, lines.joined(separator: "\n"))
    }
}

/// Collects problems while walking a document, so that one pass finds them all.
package struct ProblemList {
    package private(set) var items: [DocumentProblem] = []

    package init() {}

    package var isEmpty: Bool { items.isEmpty }

    package mutating func add(_ path: String, _ message: String) {
        items.append(DocumentProblem(path: path, message: message))
    }
}

/// Field paths as written in problems: `a.b`, `a[2]`.
package enum FieldPath {
    package static func key(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }
    package static func index(_ parent: String, _ index: Int) -> String { "\(parent)[\(index)]" }
}

/// Shortens a value quoted in a message, so a huge value cannot flood the one-line error.
package func quoted(_ value: String, limit: Int = 80) -> String {
    let shown = value.count > limit ? String(value.prefix(limit)) + "…" : value
    return "'\(shown)'"
}
