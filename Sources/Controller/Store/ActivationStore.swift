import Foundation

/// Activations: the codes an operator hands out so agents can register.
public protocol ActivationStore: Sendable {
    func insertActivation(_ activation: ActivationRecord) async throws
    /// Includes deleted tombstones, so callers can tell deleted from unknown.
    func activation(id: String) async throws -> ActivationRecord?
    /// Active (not deleted) activations, newest first.
    func activations() async throws -> [ActivationRecord]
    /// Marks an activation deleted; false if it does not exist or was already deleted.
    func deleteActivation(id: String, at: Date) async throws -> Bool
}
