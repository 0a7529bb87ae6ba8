import TenderWire
/// How a document's text is written.
public enum DocumentFormat: String, Sendable, CaseIterable {
    case yaml
    case json
    /// JSON when the text starts with `{`, YAML otherwise.
    case auto

    /// The format a file name implies: `.json`, `.yaml`/`.yml`, else `.auto`.
    public init(fileName: String) {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".json") {
            self = .json
        } else if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") {
            self = .yaml
        } else {
            self = .auto
        }
    }
}

/// Reads and validates command documents.
public enum DocumentParser {
    /// Larger than any real document (SSM's own limit is 64 KB), small enough that
    /// reading one costs the controller nothing.
    public static let maxTextBytes = 256 * 1024
    /// Deepest nesting of lists and objects accepted, in YAML as in JSON.
    public static let maxDepth = StrictJSON.maxDepth

    /// The document in `text`, or a `ValidationError` whose message lists every
    /// problem, one `path: message` per line. Steps may use the actions in `actions`.
    public static func parse(text: String, format: DocumentFormat = .auto, actions: StepActionCatalog = .standard) throws -> CommandDocument {
        switch read(text: text, format: format, actions: actions) {
        case .success(let document): return document
        case .failure(let failure): throw TenderError.problems(failure.problems)
        }
    }

    /// Every problem with the document in `text`; empty when it is valid. For tools
    /// that show problems one by one (the CLI's local check, an editor).
    public static func problems(in text: String, format: DocumentFormat = .auto, actions: StepActionCatalog = .standard) -> [DocumentProblem] {
        switch read(text: text, format: format, actions: actions) {
        case .success: return []
        case .failure(let failure): return failure.problems
        }
    }

    struct Failure: Error {
        var problems: [DocumentProblem]
    }

    static func read(text: String, format: DocumentFormat, actions: StepActionCatalog = .standard) -> Result<CommandDocument, Failure> {
        let size = text.utf8.count
        guard size <= maxTextBytes else {
            return .failure(Failure(problems: [DocumentProblem(
                path: "", message: "the document is \(size) bytes; the limit is \(maxTextBytes) (256 KiB)")]))
        }
        let source: SourceValue
        do {
            switch resolvedFormat(format, text) {
            case .json: source = try JSONTreeReader.read(text)
            default: source = try YAMLTreeReader.read(text)
            }
        } catch let error as TenderError {
            return .failure(Failure(problems: [DocumentProblem(path: "", message: error.message)]))
        } catch {
            return .failure(Failure(problems: [DocumentProblem(path: "", message: "cannot be read: \(error)")]))
        }
        var checker = DocumentChecker(actions: actions)
        if let document = checker.document(source) { return .success(document) }
        return .failure(Failure(problems: checker.problems.items))
    }

    /// The format `text` is read in: `format`, or for `.auto` what the text starts with.
    public static func resolvedFormat(_ format: DocumentFormat, _ text: String) -> DocumentFormat {
        guard format == .auto else { return format }
        let start = text.unicodeScalars.first { !$0.properties.isWhitespace && $0 != "\u{FEFF}" }
        return start == "{" ? .json : .yaml
    }
}
