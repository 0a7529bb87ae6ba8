import Foundation
import TenderAPI
import TenderDocuments
import TenderWire

/// Custom command documents: validated in full before anything is stored, kept as
/// the text the operator wrote, versioned on every update. Built-ins are read-only.
///
/// Stored documents are parsed once per (name, version) and kept parsed (see
/// `ParsedDocumentCache`); copies of this service share the cache.
public struct DocumentService: Sendable {
    let store: any DocumentStore
    let cache: ParsedDocumentCache
    /// The actions documents may use.
    let actions: StepActionCatalog

    /// - Parameter actions: what steps may do; the standard actions unless a caller
    ///   adds its own (the matching agents need their runners).
    public init(store: any DocumentStore, actions: StepActionCatalog = .standard) {
        self.init(store: store, cache: ParsedDocumentCache(actions: actions))
    }

    init(store: any DocumentStore, cache: ParsedDocumentCache) {
        self.store = store
        self.cache = cache
        self.actions = cache.actions
    }

    /// Names are what operators type in `--document`: no spaces, no built-in prefix.
    static func validateName(_ name: String) throws {
        guard (3...128).contains(name.count),
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }) else {
            throw TenderError.validation("document name '\(name.prefix(40))' must be 3 to 128 letters, digits, '_', '-' or '.'")
        }
        for prefix in ["Tender-", "AWS-", "Amazon"] where name.hasPrefix(prefix) {
            throw TenderError.validation("document names starting with '\(prefix)' are reserved for built-in documents")
        }
    }

    static func format(_ text: String?) throws -> DocumentFormat {
        guard let text else { return .auto }
        guard let format = DocumentFormat(rawValue: text.lowercased()) else {
            throw TenderError.validation("format must be yaml, json or auto, got '\(text)'")
        }
        return format
    }

    /// Parses `content`, throwing one validation error that lists every problem.
    func parse(_ content: String, format: DocumentFormat) throws -> CommandDocument {
        try DocumentParser.parse(text: content, format: format, actions: actions)
    }

    public func create(_ request: DocumentRequest, now: Date = Date()) async throws -> DocumentInfo {
        guard let name = request.name else { throw TenderError.validation("missing field 'name'") }
        if BuiltinDocuments.isBuiltin(name) {
            throw TenderError(.conflict, "'\(name)' is a built-in document and cannot be replaced")
        }
        try Self.validateName(name)
        let format = try Self.format(request.format)
        let document = try parse(request.content, format: format)
        let record = try await store.createDocument(name: name, content: request.content, at: now)
        keep(document, parsedAs: format, for: record)
        return Self.info(name: name, version: record.version, document: document, createdAt: record.createdAt, content: nil)
    }

    public func update(_ name: String, _ request: DocumentRequest, now: Date = Date()) async throws -> DocumentInfo {
        if BuiltinDocuments.isBuiltin(name) {
            throw TenderError(.conflict, "'\(name)' is a built-in document and cannot be changed")
        }
        if let bodyName = request.name, bodyName != name {
            throw TenderError.validation("the body names document '\(bodyName)' but the path names '\(name)'")
        }
        let format = try Self.format(request.format)
        let document = try parse(request.content, format: format)
        let record = try await store.updateDocument(name: name, content: request.content, at: now)
        cache.removeAll(named: name)
        keep(document, parsedAs: format, for: record)
        return Self.info(name: name, version: record.version, document: document, createdAt: record.createdAt, content: nil)
    }

    /// Caches a document parsed on create or update, when reading it back (always
    /// `.auto`) would read it the same way.
    private func keep(_ document: CommandDocument, parsedAs format: DocumentFormat, for record: DocumentRecord) {
        if DocumentParser.resolvedFormat(format, record.content) == DocumentParser.resolvedFormat(.auto, record.content) {
            cache.insert(.success(document), for: record)
        }
    }

    public func list() async throws -> [DocumentInfo] {
        var out = BuiltinDocuments.names.compactMap { name in
            BuiltinDocuments.document(named: name).map { Self.info(name: name, version: 0, document: $0, createdAt: nil, content: nil) }
        }
        for record in try await store.documents() {
            // Stored documents were valid when stored; one that no longer parses (a
            // stricter newer parser) is still listed, without its details.
            if case .success(let document) = cache.document(for: record) {
                out.append(Self.info(name: record.name, version: record.version, document: document, createdAt: record.createdAt, content: nil))
            } else {
                out.append(DocumentInfo(name: record.name, version: record.version, builtin: false, description: "(no longer valid: run document show)", schemaVersion: "?", parameters: [], stepCount: 0, createdAt: record.createdAt, content: nil))
            }
        }
        return out
    }

    /// The document to run or show: a built-in, or the given (default latest) version.
    public func resolve(_ name: String, version: Int? = nil) async throws -> (document: CommandDocument, version: Int, record: DocumentRecord?) {
        if let builtin = BuiltinDocuments.document(named: name) {
            if let version, version != 0 { throw TenderError.notFound("built-in document '\(name)' has no version \(version)") }
            return (builtin, 0, nil)
        }
        guard let record = try await store.document(name: name, version: version) else {
            throw TenderError.notFound(version.map { "document '\(name)' has no version \($0)" } ?? "document '\(name)' does not exist")
        }
        return (try cache.document(for: record).get(), record.version, record)
    }

    public func show(_ name: String, version: Int? = nil) async throws -> DocumentInfo {
        let (document, resolvedVersion, record) = try await resolve(name, version: version)
        let content = record?.content ?? BuiltinDocuments.texts[name]
        return Self.info(name: name, version: resolvedVersion, document: document, createdAt: record?.createdAt, content: content)
    }

    public func delete(_ name: String, now: Date = Date()) async throws {
        if BuiltinDocuments.isBuiltin(name) {
            throw TenderError(.conflict, "'\(name)' is a built-in document and cannot be deleted")
        }
        guard try await store.deleteDocument(name: name, at: now) else {
            throw TenderError.notFound("document '\(name)' does not exist")
        }
        cache.removeAll(named: name)
    }

    static func info(name: String, version: Int, document: CommandDocument, createdAt: Date?, content: String?) -> DocumentInfo {
        DocumentInfo(
            name: name, version: version, builtin: version == 0 && BuiltinDocuments.isBuiltin(name),
            description: document.description, schemaVersion: document.schemaVersion,
            parameters: document.parameters.map {
                DocumentParameterInfo(name: $0.name, type: $0.type.rawValue, description: $0.description, required: $0.isRequired, defaultValue: $0.defaultValue)
            },
            stepCount: document.mainSteps.count, createdAt: createdAt, content: content
        )
    }
}
