import Foundation
import TenderAPI
import TenderWire

/// `tender-bench fanout`: N connected agents, one no-op command to all of them, timed
/// from the API request until the controller has confirmed every result as stored.
public struct FanoutScenario: Sendable {
    public struct Result: Codable, Sendable {
        public var agents: Int
        public var connectSeconds: Double
        public var firstResultMs: Double
        public var p50Ms: Double
        public var p99Ms: Double
        public var allResultsMs: Double
        public var controllerRssMB: Double
        public var controllerRssPerAgentKB: Double
        /// CPU the controller used while the fleet only heartbeated, in % of one core.
        public var controllerIdleCpuPercent: Double
        /// Until `command show` reports the command finished (Success, every invocation counted).
        public var commandDoneMs: Double
        /// Until the send request was answered, and until the first and the last agent got its work.
        public var sendRequestMs: Double
        public var firstDeliveryMs: Double
        public var allDeliveredMs: Double
        public var database: String
        public var maxConcurrency: String
    }

    public let options: BenchOptions
    /// nil: unthrottled (100%).
    public let maxConcurrency: String?

    public init(options: BenchOptions, maxConcurrency: String?) {
        self.options = options
        self.maxConcurrency = maxConcurrency
    }

    public func run() async throws -> Result {
        try await BenchEnvironment.run(options) { env in
            let api = try await env.api()
            let identities = try await env.registerFleet(options.agents, api: api)
            guard let pid = await env.controller.pid else { throw TenderError(.unavailable, "the controller is not running") }
            // Memory per agent: what the connections add to a controller that already
            // holds the registered fleet in its store.
            try await Task.sleep(for: .seconds(1))
            let before = try ProcessStats.read(pid: pid).rssBytes
            let simulated = await env.makeFleet(identities)
            let connectSeconds = try await env.connect(simulated)
            // Idle for a few heartbeats, so the figure is a steady state, not a connect
            // burst; the CPU the controller spends on the idle fleet is measured meanwhile.
            try await Task.sleep(for: .seconds(2))
            let idleCPUBefore = try ProcessStats.read(pid: pid).cpuSeconds
            let idleStart = ContinuousClock.now
            try await Task.sleep(for: .seconds(10))
            let idleCPU = (try ProcessStats.read(pid: pid).cpuSeconds - idleCPUBefore) / (ContinuousClock.now - idleStart).seconds * 100
            let after = try ProcessStats.read(pid: pid).rssBytes
            let perAgentKB = Double(after - before) / 1024 / Double(options.agents)

            let concurrency = maxConcurrency ?? "100%"
            env.progress("sending a no-op command to \(options.agents) agents (max concurrency \(concurrency))")
            let sentAt = FleetRecorder.now()
            let command = try await api.sendCommand(SendCommandRequest(
                documentName: "Tender-RunShellScript", parameters: ["commands": .string("true")], targets: ["*"],
                maxConcurrency: concurrency, maxErrors: "0", timeoutSeconds: 600, comment: "tender-bench fanout"))
            let sendRequestMs = Double(FleetRecorder.now() &- sentAt) / 1e6
            let timeout = Duration.seconds(120 + options.agents / 20)
            guard await simulated.recorder.wait(timeout: timeout, until: { $0.stored == options.agents }) else {
                throw TenderError(.unavailable, "only \(simulated.recorder.storedCount) of \(options.agents) results were stored within \(timeout); controller log: \(env.controller.tail())")
            }
            let latencies = simulated.recorder.snapshot.storedAt.map { Double($0 &- sentAt) / 1e6 }.sorted()
            let deliveries = simulated.recorder.snapshot.runAt.map { Double($0 &- sentAt) / 1e6 }.sorted()
            // The command's own status must agree: finished, all counted, no errors.
            // Polled through the list (summaries only), not `show`, which would send all
            // N invocations every time.
            let doneDeadline = ContinuousClock.now + .seconds(60)
            var summary = try await api.recentCommands(limit: 1).first { $0.commandId == command.commandId }
            while summary.map({ !$0.status.isTerminal }) ?? true {
                guard ContinuousClock.now < doneDeadline else {
                    throw TenderError(.unavailable, "every result was stored, but the command did not finish within 60 s (\(summary?.status.rawValue ?? "not listed"))")
                }
                try await Task.sleep(for: .milliseconds(10))
                summary = try await api.recentCommands(limit: 1).first { $0.commandId == command.commandId }
            }
            guard let done = summary else { throw TenderError(.internalError, "the command is not listed") }
            let doneMs = Double(FleetRecorder.now() &- sentAt) / 1e6
            guard done.status == .success, done.completedCount == options.agents, done.errorCount == 0 else {
                throw TenderError(.internalError, "the command ended \(done.status.rawValue) with \(done.completedCount) completed and \(done.errorCount) errors")
            }
            let protocolErrors = simulated.recorder.snapshot.protocolErrors
            guard protocolErrors == 0 else { throw TenderError(.internalError, "the simulated agents saw \(protocolErrors) protocol errors") }
            return Result(agents: options.agents, connectSeconds: Units.rounded(connectSeconds, places: 2),
                          firstResultMs: Units.rounded(latencies.first ?? 0), p50Ms: Units.rounded(Percentile.of(latencies, 50)),
                          p99Ms: Units.rounded(Percentile.of(latencies, 99)), allResultsMs: Units.rounded(latencies.last ?? 0),
                          controllerRssMB: Units.megabytes(after), controllerRssPerAgentKB: Units.rounded(perAgentKB),
                          controllerIdleCpuPercent: Units.rounded(idleCPU),
                          commandDoneMs: Units.rounded(doneMs), sendRequestMs: Units.rounded(sendRequestMs),
                          firstDeliveryMs: Units.rounded(deliveries.first ?? 0), allDeliveredMs: Units.rounded(deliveries.last ?? 0), database: options.database == nil ? "sqlite" : "postgres",
                          maxConcurrency: concurrency)
        }
    }
}
