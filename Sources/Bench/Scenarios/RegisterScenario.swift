import Foundation
import TenderWire

/// `tender-bench register`: N registrations with real CSRs against a fresh
/// controller, each on its own TLS connection; keys are made before the clock starts.
public struct RegisterScenario: Sendable {
    public struct Result: Codable, Sendable {
        public var agents: Int
        public var seconds: Double
        public var perSecond: Double
        public var database: String
        public var concurrency: Int
    }

    public let options: BenchOptions
    public init(options: BenchOptions) { self.options = options }

    public func run() async throws -> Result {
        try await BenchEnvironment.run(options) { env in
            let api = try await env.api()
            let activations = try await env.createActivations(for: options.agents, api: api)
            env.progress("generating \(options.agents) keys and CSRs")
            let applicants = try SimulatedFleet.makeApplicants(options.agents)
            env.progress("registering \(options.agents) agents, \(options.registerWidth) at a time")
            let started = ContinuousClock.now
            let identities = try await SimulatedFleet.register(applicants, controllerURL: await env.controller.agentURL, caPEM: env.controller.caPEM,
                                                               activations: activations, width: options.registerWidth, group: env.group)
            let seconds = (ContinuousClock.now - started).seconds
            guard identities.count == options.agents else {
                throw TenderError(.internalError, "only \(identities.count) of \(options.agents) registrations succeeded")
            }
            // Every registration must be stored, not just answered.
            let stored = try await api.instances().count
            guard stored == options.agents else {
                throw TenderError(.internalError, "the controller answered \(options.agents) registrations but stored \(stored) instances")
            }
            return Result(agents: options.agents, seconds: Units.rounded(seconds, places: 3),
                          perSecond: Units.rounded(Double(options.agents) / seconds), database: options.database == nil ? "sqlite" : "postgres",
                          concurrency: options.registerWidth)
        }
    }
}
