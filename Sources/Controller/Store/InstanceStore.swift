import Foundation
import TenderAPI

/// Managed instances: registration, tags, deregistration, and what their agents
/// report (hello, presence, certificate renewal).
public protocol InstanceStore: Sendable {
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
}
