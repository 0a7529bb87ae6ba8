import Foundation
import TenderWire

/// Keeps what one kind of step payload reports, for the capability that asked
/// for the work: a patch report becomes the instance's compliance.
protocol ResultPayloadSink: Sendable {
    /// Called for every stored result that carries a payload of the sink's kind, and
    /// again when the agent resends that result: recording must be idempotent.
    func record(_ payload: StepPayload, commandID: String, instanceID: String, endedAt: Date) async throws
}

/// The sinks by payload kind, wired once. A kind without a sink is only stored with
/// the invocation.
struct ResultPayloadSinks: Sendable {
    private var byKind: [String: any ResultPayloadSink] = [:]

    static let none = ResultPayloadSinks()

    func adding(_ kind: String, _ sink: any ResultPayloadSink) -> ResultPayloadSinks {
        var sinks = self
        sinks.byKind[kind] = sink
        return sinks
    }

    /// Hands each payload to its kind's sink; throws if one fails (the result is then
    /// not confirmed to the agent, which sends it again).
    func record(_ payloads: [StepPayload], commandID: String, instanceID: String, endedAt: Date) async throws {
        for payload in payloads {
            try await byKind[payload.kind]?.record(payload, commandID: commandID, instanceID: instanceID, endedAt: endedAt)
        }
    }
}
