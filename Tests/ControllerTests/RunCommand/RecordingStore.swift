import Foundation
@testable import Controller
import TenderAPI
import TenderWire

/// A `Store` that forwards everything to a real one and reports each invocation
/// stored as sent (`InProgress` with a `sentAt`) once the write has returned, so a
/// test can see in which order storing and sending happened.
final class RecordingStore: Store {
    let inner: any Store
    /// Called with the instance ids just stored as sent, after the real write returned.
    let storedSent: @Sendable ([String]) async -> Void

    init(_ inner: any Store, storedSent: @escaping @Sendable ([String]) async -> Void) {
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

    func transitionInvocations(_ updates: [InvocationUpdate], at: Date) async throws -> [Bool] {
        // Agents' starts and results: never a send.
        try await inner.transitionInvocations(updates, at: at)
    }

    // MARK: Forwarded

    func migrate() async throws { try await inner.migrate() }
    func schemaVersion() async throws -> Int { try await inner.schemaVersion() }
    func shutdown() async { await inner.shutdown() }

    func insertActivation(_ activation: ActivationRecord) async throws { try await inner.insertActivation(activation) }
    func activation(id: String) async throws -> ActivationRecord? { try await inner.activation(id: id) }
    func activations() async throws -> [ActivationRecord] { try await inner.activations() }
    func deleteActivation(id: String, at: Date) async throws -> Bool { try await inner.deleteActivation(id: id, at: at) }

    func registerInstance(_ instance: InstanceRecord, activationID: String, now: Date) async throws {
        try await inner.registerInstance(instance, activationID: activationID, now: now)
    }
    func instance(id: String) async throws -> InstanceRecord? { try await inner.instance(id: id) }
    func instances() async throws -> [InstanceRecord] { try await inner.instances() }
    func setTags(instanceID: String, tags: [String: String]) async throws -> Bool { try await inner.setTags(instanceID: instanceID, tags: tags) }
    func removeTags(instanceID: String, keys: [String]) async throws -> Bool { try await inner.removeTags(instanceID: instanceID, keys: keys) }
    func deregisterInstance(id: String, at: Date) async throws -> Bool { try await inner.deregisterInstance(id: id, at: at) }
    func recordHello(instanceID: String, report: AgentReport, at: Date) async throws { try await inner.recordHello(instanceID: instanceID, report: report, at: at) }
    func recordHellos(_ hellos: [(instanceID: String, report: AgentReport)], at: Date) async throws { try await inner.recordHellos(hellos, at: at) }
    func setPingStatus(instanceIDs: [String], status: PingStatus, at: Date) async throws {
        try await inner.setPingStatus(instanceIDs: instanceIDs, status: status, at: at)
    }
    func recordPings(instanceIDs: [String], at: Date) async throws { try await inner.recordPings(instanceIDs: instanceIDs, at: at) }
    func updateCertificate(instanceID: String, serial: String, notAfter: Date) async throws {
        try await inner.updateCertificate(instanceID: instanceID, serial: serial, notAfter: notAfter)
    }
    func instancesDeregistered(since: Date) async throws -> [String] { try await inner.instancesDeregistered(since: since) }

    func createDocument(name: String, content: String, at: Date) async throws -> DocumentRecord { try await inner.createDocument(name: name, content: content, at: at) }
    func updateDocument(name: String, content: String, at: Date) async throws -> DocumentRecord { try await inner.updateDocument(name: name, content: content, at: at) }
    func document(name: String, version: Int?) async throws -> DocumentRecord? { try await inner.document(name: name, version: version) }
    func documents() async throws -> [DocumentRecord] { try await inner.documents() }
    func deleteDocument(name: String, at: Date) async throws -> Bool { try await inner.deleteDocument(name: name, at: at) }

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

    func insertToken(_ token: TokenRecord) async throws { try await inner.insertToken(token) }
    func token(hash: String) async throws -> TokenRecord? { try await inner.token(hash: hash) }
    func tokens() async throws -> [TokenRecord] { try await inner.tokens() }
    func revokeToken(id: String, at: Date) async throws -> Bool { try await inner.revokeToken(id: id, at: at) }
}
