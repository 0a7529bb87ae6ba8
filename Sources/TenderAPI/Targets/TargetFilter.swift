/// One `--target` expression. A command's targets are a list of these, all of which
/// must match an instance for it to be selected (as in SSM).
///
/// Forms: `ids=mi-a,mi-b`, `tag:KEY=V1,V2`, `tag-key=KEY`, `*`.
public enum TargetFilter: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    case ids([String])
    case tag(key: String, values: [String])
    case tagKey(String)
    case all

    /// Parses the CLI/API text form, rejecting anything ambiguous with a message that
    /// shows the accepted forms.
    public init(parsing text: String) throws {
        let forms = "expected ids=mi-…[,mi-…], tag:KEY=V1[,V2], tag-key=KEY or *"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "*" {
            self = .all
        } else if trimmed.hasPrefix("ids=") {
            let ids = Self.list(trimmed.dropFirst(4))
            guard !ids.isEmpty else { throw TenderError.validation("target '\(text)' names no instance ids; \(forms)") }
            for id in ids where !Identifiers.isInstanceID(id) {
                throw TenderError.validation("target '\(text)': '\(id)' is not an instance id (mi- followed by 17 hex digits)")
            }
            self = .ids(ids)
        } else if trimmed.hasPrefix("tag:") {
            let rest = trimmed.dropFirst(4)
            guard let eq = rest.firstIndex(of: "=") else {
                throw TenderError.validation("target '\(text)' has no '=': \(forms)")
            }
            let key = String(rest[..<eq]).trimmingCharacters(in: .whitespaces)
            let values = Self.list(rest[rest.index(after: eq)...])
            guard !key.isEmpty else { throw TenderError.validation("target '\(text)' has an empty tag key") }
            guard !values.isEmpty else { throw TenderError.validation("target '\(text)' has no tag value") }
            self = .tag(key: key, values: values)
        } else if trimmed.hasPrefix("tag-key=") {
            let key = String(trimmed.dropFirst(8)).trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw TenderError.validation("target '\(text)' has an empty tag key") }
            self = .tagKey(key)
        } else {
            throw TenderError.validation("target '\(text)' is not understood; \(forms)")
        }
    }

    private static func list(_ text: Substring) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func matches(instanceID: String, tags: [String: String]) -> Bool {
        switch self {
        case .all: return true
        case .ids(let ids): return ids.contains(instanceID)
        case .tag(let key, let values): return tags[key].map(values.contains) ?? false
        case .tagKey(let key): return tags[key] != nil
        }
    }

    /// True when every filter matches (an empty list matches nothing: a command
    /// must say what it targets).
    public static func allMatch(_ filters: [TargetFilter], instanceID: String, tags: [String: String]) -> Bool {
        !filters.isEmpty && filters.allSatisfy { $0.matches(instanceID: instanceID, tags: tags) }
    }

    public var description: String {
        switch self {
        case .all: return "*"
        case .ids(let ids): return "ids=" + ids.joined(separator: ",")
        case .tag(let key, let values): return "tag:\(key)=" + values.joined(separator: ",")
        case .tagKey(let key): return "tag-key=\(key)"
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Validation of tag keys and values, shared by the API and the CLI.
public enum Tags {
    public static let maxKeyLength = 128
    public static let maxValueLength = 256
    public static let maxTagsPerInstance = 50

    public static func validate(key: String, value: String) throws {
        guard !key.isEmpty else { throw TenderError.validation("tag key must not be empty") }
        guard key.count <= maxKeyLength else { throw TenderError.validation("tag key '\(key.prefix(20))…' is longer than \(maxKeyLength) characters") }
        guard value.count <= maxValueLength else { throw TenderError.validation("value of tag '\(key)' is longer than \(maxValueLength) characters") }
        guard !key.contains(where: { $0 == "=" || $0 == "," || $0.isNewline }) else {
            throw TenderError.validation("tag key '\(key)' must not contain '=', ',' or a line break")
        }
        guard !value.contains(where: { $0 == "," || $0.isNewline }) else {
            throw TenderError.validation("value of tag '\(key)' must not contain ',' or a line break")
        }
    }

    /// Parses `K=V` pairs as typed on the command line.
    public static func parsePairs(_ pairs: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for pair in pairs {
            guard let eq = pair.firstIndex(of: "=") else {
                throw TenderError.validation("tag '\(pair)' must be KEY=VALUE")
            }
            let key = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
            try validate(key: key, value: value)
            out[key] = value
        }
        return out
    }
}

import Foundation
import TenderWire
