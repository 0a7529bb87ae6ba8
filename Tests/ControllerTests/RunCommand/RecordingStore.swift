import Foundation
@testable import Controller
import TenderAPI
import TenderWire

/// The dispatcher's `CommandStore`, forwarded to a real one, reporting each
/// invocation stored as sent (`InProgress` with a `sentAt`) once the write has
/// returned, so a test can see in which order storing and sending happened.
final class RecordingStore: CommandStore, ReplicaStore {
    let inner: any CommandStore & ReplicaStore
    /// Called with the instance ids just stored as sent, after the real write returned.
    let storedSent: @Sendable ([String]) async -> Void

    init(_ inner: any CommandStore & ReplicaStore, storedSent: @escaping @Sendable ([String]) async -> Void) {
        self.inner = inner
        self.storedSent = storedSent
    }

    private func report(_ states: [InvocationState], _ transition: InvocationTransition) async {
        guard transition.to == .inProgress, transition.sentAt != nil else { return }
        let sent = states.filter { $0.status == .inProgress && $0.sentAt != nil }.map(\.instanceID)
        if !sent.isEmpty { await storedSent(sent) }
    }

    // MARK: Intercepted

    func transitionInvocation(commandID: String, instanceID: String, _ transition: InvocationTransition, at: Date) async throws -> InvocationRecord? {
        let updated = try await inner.transitionInvocation(commandID: commandID, instanceID: instanceID, transition, at: at)
        await report(updated.map { [InvocationState($0)] } ?? [], transition)
        return updated
    }

    func transitionInvocations(commandID: String, instanceIDs: [String], _ transition: InvocationTransition, at: Date) async throws -> [InvocationState] {
        let updated = try await inner.transitionInvocations(commandID: commandID, instanceIDs: instanceIDs, transition, at: at)
        await report(updated, transition)
        return updated
    }

    func claimInvocations(commandID: String, instanceIDs: [String], inFlightLimit: Int, _ transition: InvocationTransition, at: Date) async throws -> [InvocationState] {
        let updated = try await inner.claimInvocations(commandID: commandID, instanceIDs: instanceIDs, inFlightLimit: inFlightLimit, transition, at: at)
        await report(updated, transition)
        return updated
    }

    func transitionInvocations(_ updates: [InvocationUpdate], at: Date) async throws -> [Bool] {
        // Agents' starts and results: never a send.
        try await inner.transitionInvocations(updates, at: at)
    }

    // MARK: Forwarded

    func insertCommand(_ command: CommandRecord, invocations: [InvocationRecord]) async throws { try await inner.insertCommand(command, invocations: invocations) }
    func command(id: String) async throws -> CommandRecord? { try await inner.command(id: id) }
    func commands(limit: Int) async throws -> [CommandRecord] { try await inner.commands(limit: limit) }
    func activeCommands() async throws -> [CommandRecord] { try await inner.activeCommands() }
    func invocations(commandID: String) async throws -> [InvocationRecord] { try await inner.invocations(commandID: commandID) }
    func invocation(commandID: String, instanceID: String) async throws -> InvocationRecord? { try await inner.invocation(commandID: commandID, instanceID: instanceID) }
    func invocationStates(commandID: String) async throws -> [InvocationState] { try await inner.invocationStates(commandID: commandID) }
    func updateRunningOutput(commandID: String, instanceID: String, stdout: String, stderr: String, at: Date) async throws {
        try await inner.updateRunningOutput(commandID: commandID, instanceID: instanceID, stdout: stdout, stderr: stderr, at: at)
    }
    func updateCommand(id: String, status: CommandStatus, statusDetails: String, completedCount: Int, errorCount: Int, deliveryTimedOutCount: Int, finishedAt: Date?, at: Date) async throws {
        try await inner.updateCommand(id: id, status: status, statusDetails: statusDetails, completedCount: completedCount, errorCount: errorCount,
                                      deliveryTimedOutCount: deliveryTimedOutCount, finishedAt: finishedAt, at: at)
    }
    func requestCancel(commandID: String, at: Date) async throws -> Bool { try await inner.requestCancel(commandID: commandID, at: at) }
    func events(after seq: Int, limit: Int) async throws -> [EventRecord] { try await inner.events(after: seq, limit: limit) }
    func recordReplica(id: String, startedAt: Date, at: Date) async throws { try await inner.recordReplica(id: id, startedAt: startedAt, at: at) }
    func replicas(seenSince since: Date) async throws -> Set<String> { try await inner.replicas(seenSince: since) }
    func removeReplicas(seenBefore before: Date) async throws { try await inner.removeReplicas(seenBefore: before) }
}
