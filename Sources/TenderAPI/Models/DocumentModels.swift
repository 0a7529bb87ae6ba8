import Foundation
import TenderDocuments

/// `POST /v1/documents` and `PUT /v1/documents/{name}`: the document's text as
/// written (YAML or JSON), so `document show` gives back what the operator wrote.
public struct DocumentRequest: Codable, Sendable {
    /// Required on create; on update it must match the path if given.
    public var name: String?
    public var content: String
    /// `yaml`, `json` or `auto` (default: JSON if it starts with `{`).
    public var format: String?

    public init(name: String?, content: String, format: String?) {
        self.name = name
        self.content = content
        self.format = format
    }
}

public struct DocumentParameterInfo: Codable, Sendable, Equatable {
    public var name: String
    public var type: String
    public var description: String?
    public var required: Bool
    public var defaultValue: ParameterValue?

    public init(name: String, type: String, description: String?, required: Bool, defaultValue: ParameterValue?) {
        self.name = name
        self.type = type
        self.description = description
        self.required = required
        self.defaultValue = defaultValue
    }
}

public struct DocumentInfo: Codable, Sendable, Equatable {
    public var name: String
    /// 0 for built-in documents, which have no versions.
    public var version: Int
    public var builtin: Bool
    public var description: String?
    public var schemaVersion: String
    public var parameters: [DocumentParameterInfo]
    public var stepCount: Int
    public var createdAt: Date?
    /// The text as written; in `show` only.
    public var content: String?

    public init(name: String, version: Int, builtin: Bool, description: String?, schemaVersion: String, parameters: [DocumentParameterInfo], stepCount: Int, createdAt: Date?, content: String?) {
        self.name = name
        self.version = version
        self.builtin = builtin
        self.description = description
        self.schemaVersion = schemaVersion
        self.parameters = parameters
        self.stepCount = stepCount
        self.createdAt = createdAt
        self.content = content
    }
}
