import Foundation
import TenderAPI
import TenderWire

/// The controller's persistent state. One interface, two implementations
/// (SQLite embedded, PostgreSQL for several replicas), both checked by the same
/// test suite, so capabilities are written once against this protocol.
public protocol Store: Sendable {
    /// Runs pending migrations. Safe to call from several replicas at once.
    func migrate() async throws
    /// The schema version the database is at after `migrate()`.
    func schemaVersion() async throws -> Int
    func shutdown() async

    // MARK: Activations
    func insertActivation(_ activation: ActivationRecord) async throws
    /// Includes deleted tombstones, so callers can tell deleted from unknown.
    func activation(id: String) async throws -> ActivationRecord?
    /// Active (not deleted) activations, newest first.
    func activations() async throws -> [ActivationRecord]
    /// Marks an activation deleted; false if it does not exist or was already deleted.
    func deleteActivation(id: String, at: Date) async throws -> Bool

    // MARK: Instances
    /// In one transaction: checks the activation is still usable (exists, not deleted,
    /// not expired, under its limit), counts the registration and stores the instance
    /// with the activation's tags. Throws the matching `TenderError` otherwise.
    func registerInstance(_ instance: InstanceRecord, activationID: String, now: Date) async throws
    func instance(id: String) async throws -> InstanceRecord?
    /// Active (not deregistered) instances, ordered by id.
    func instances() async throws -> [InstanceRecord]
    /// Sets tags (adding or replacing keys); false if the instance is unknown or deregistered.
    func setTags(instanceID: String, tags: [String: String]) async throws -> Bool
    func removeTags(instanceID: String, keys: [String]) async throws -> Bool
    /// Marks the instance deregistered; false if unknown or already deregistered.
    func deregisterInstance(id: String, at: Date) async throws -> Bool
    /// Stores what the agent reported on connecting and marks it Online.
    func recordHello(instanceID: String, report: AgentReport, at: Date) async throws
    /// Hellos of many agents (a reconnect storm) in one transaction.
    func recordHellos(_ hellos: [(instanceID: String, report: AgentReport)], at: Date) async throws
    func setPingStatus(instanceIDs: [String], status: PingStatus, at: Date) async throws
    /// Batched heartbeat timestamps: one statement for many agents.
    func recordPings(instanceIDs: [String], at: Date) async throws
    func updateCertificate(instanceID: String, serial: String, notAfter: Date) async throws
    /// Instances deregistered at or after `since`, so every replica can close their channels.
    func instancesDeregistered(since: Date) async throws -> [String]

    // MARK: Documents
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

    // MARK: Commands
    /// Stores a command with one Pending invocation per target, and its first event, at once:
    /// the command exists whole or not at all (nothing is sent before this returns).
    func insertCommand(_ command: CommandRecord, invocations: [InvocationRecord]) async throws
    func command(id: String) async throws -> CommandRecord?
    /// Newest first.
    func commands(limit: Int) async throws -> [CommandRecord]
    /// Commands not yet in a terminal status (the dispatcher's work after a restart).
    func activeCommands() async throws -> [CommandRecord]
    /// In target order.
    func invocations(commandID: String) async throws -> [InvocationRecord]
    func invocation(commandID: String, instanceID: String) async throws -> InvocationRecord?
    /// Applies the transition if the invocation is still in one of its `from` statuses,
    /// recording an event (unless it can only keep the status, as a resend does);
    /// returns the updated invocation, or nil if it did not apply.
    func transitionInvocation(commandID: String, instanceID: String, _ transition: InvocationTransition, at: Date) async throws -> InvocationRecord?
    /// Many transitions in one transaction (reports that arrived together); for each,
    /// in the order given, whether it applied.
    func transitionInvocations(_ updates: [InvocationUpdate], at: Date) async throws -> [Bool]
    /// The same transition for many invocations of one command, in a few statements
    /// (a fan-out's sends); returns those it applied to.
    func transitionInvocations(commandID: String, instanceIDs: [String], _ transition: InvocationTransition, at: Date) async throws -> [InvocationState]
    /// The dispatcher's view of a command's invocations, in target order.
    func invocationStates(commandID: String) async throws -> [InvocationState]
    /// Replaces the inline output of a running invocation (progress; no event).
    func updateRunningOutput(commandID: String, instanceID: String, stdout: String, stderr: String, at: Date) async throws
    /// Stores the aggregate; records an event when the status changed.
    func updateCommand(id: String, status: CommandStatus, statusDetails: String, completedCount: Int, errorCount: Int, deliveryTimedOutCount: Int, finishedAt: Date?, at: Date) async throws
    /// Marks the command as to be cancelled; false if unknown or already finished.
    func requestCancel(commandID: String, at: Date) async throws -> Bool
    /// Status changes after `seq`, oldest first.
    func events(after seq: Int, limit: Int) async throws -> [EventRecord]

    // MARK: Tokens
    func insertToken(_ token: TokenRecord) async throws
    func token(hash: String) async throws -> TokenRecord?
    func tokens() async throws -> [TokenRecord]
    func revokeToken(id: String, at: Date) async throws -> Bool
}
