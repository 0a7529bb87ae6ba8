import Foundation

/// Custom command documents, every version kept.
public protocol DocumentStore: Sendable {
    /// Stores version 1 of a new document; `conflict` if the name is in use.
    func createDocument(name: String, content: String, at: Date) async throws -> DocumentRecord
    /// Stores the next version of an existing document; `notFound` if there is none.
    func updateDocument(name: String, content: String, at: Date) async throws -> DocumentRecord
    /// The given version, or the latest when `version` is nil; deleted documents are not returned.
    func document(name: String, version: Int?) async throws -> DocumentRecord?
    /// The latest version of every document that is not deleted, by name.
    func documents() async throws -> [DocumentRecord]
    /// Hides the name (all versions stay for the commands that used them); false if unknown.
    func deleteDocument(name: String, at: Date) async throws -> Bool
}
