import Foundation
import TenderWire

/// Run Command: commands, their invocations (one per target) and the transitions
/// between invocation statuses, and the events those changes leave.
public protocol CommandStore: Sendable {
    /// Stores a command with one Pending invocation per target, and its first event, at once:
    /// the command exists whole or not at all (nothing is sent before this returns).
    func insertCommand(_ command: CommandRecord, invocations: [InvocationRecord]) async throws
    func command(id: String) async throws -> CommandRecord?
    /// Run Command's commands (owner `.runCommand`), newest first.
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
    /// Sends under the command's MaxConcurrency, safe across replicas: applies the
    /// transition (to InProgress) to as many of `instanceIDs`, in order, as keep the
    /// command's InProgress count within `inFlightLimit`, counting and updating while
    /// holding the command (so two replicas cannot both fill the same window).
    /// Returns those it applied to.
    func claimInvocations(commandID: String, instanceIDs: [String], inFlightLimit: Int, _ transition: InvocationTransition, at: Date) async throws -> [InvocationState]
    /// The dispatcher's view of a command's invocations, in target order.
    func invocationStates(commandID: String) async throws -> [InvocationState]
    /// Replaces the inline output of a running invocation (progress; no event).
    func updateRunningOutput(commandID: String, instanceID: String, stdout: String, stderr: String, at: Date) async throws
    /// Stores the aggregate; records an event when the status changed.
    func updateCommand(id: String, status: CommandStatus, statusDetails: String, completedCount: Int, errorCount: Int, deliveryTimedOutCount: Int, finishedAt: Date?, at: Date) async throws
    /// Marks the command as to be cancelled; false if unknown or already finished.
    func requestCancel(commandID: String, at: Date) async throws -> Bool
    /// Status changes of Run Command's commands and their invocations after `seq`, oldest first.
    func events(after seq: Int, limit: Int) async throws -> [EventRecord]
}
