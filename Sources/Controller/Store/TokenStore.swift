import Foundation

/// Operator API tokens, by hash.
public protocol TokenStore: Sendable {
    func insertToken(_ token: TokenRecord) async throws
    func token(hash: String) async throws -> TokenRecord?
    func tokens() async throws -> [TokenRecord]
    func revokeToken(id: String, at: Date) async throws -> Bool
}
