import Foundation
import TenderWire

/// `tender-bench storm`: N agents connected, the controller restarted (SIGTERM, then
/// started again on the same ports and data), timed from the SIGTERM until each
/// agent is welcomed again. The agents reconnect with the real agent's backoff and
/// full jitter, so the figure shows how well that spreads the load.
public struct StormScenario: Sendable {
    public struct Result: Codable, Sendable {
        public var agents: Int
        public var p50OnlineSeconds: Double
        public var p95OnlineSeconds: Double
        public var allOnlineSeconds: Double
        public var failedHandshakes: Int
        public var controllerPeakRssMB: Double
        /// From SIGTERM until the new controller listened again.
        public var restartSeconds: Double
        public var database: String
    }

    public let options: BenchOptions
    public init(options: BenchOptions) { self.options = options }

    public func run() async throws -> Result {
        try await BenchEnvironment.run(options) { env in
            let api = try await env.api()
            let identities = try await env.registerFleet(options.agents, api: api)
            let simulated = await env.makeFleet(identities)
            _ = try await env.connect(simulated)
            try await Task.sleep(for: .seconds(2))
            let handshakeFailuresBefore = simulated.recorder.snapshot.failedHandshakes

            env.progress("restarting the controller with \(options.agents) agents connected")
            simulated.recorder.resetOnline()
            let stoppedAt = FleetRecorder.now()
            let status = await env.controller.stop()
            guard status == 0 else { throw TenderError(.internalError, "the controller exited with status \(status.map(String.init) ?? "?") on SIGTERM; log: \(env.controller.tail())") }
            try await env.controller.start()
            let restartSeconds = Double(FleetRecorder.now() &- stoppedAt) / 1e9
            guard let pid = await env.controller.pid else { throw TenderError(.unavailable, "the controller is not running") }
            let sampler = RSSSampler(pid: pid, every: .milliseconds(100))
            let timeout = Duration.seconds(max(120, options.agents / 50))
            let allBack = await simulated.recorder.wait(timeout: timeout, until: { $0.online == options.agents })
            let peak = max(await sampler.stop(), (try? ProcessStats.read(pid: pid).peakRssBytes) ?? 0)
            guard await env.controller.isRunning else {
                throw TenderError(.internalError, "the controller died during the storm; log: \(env.controller.tail())")
            }
            guard allBack else {
                throw TenderError(.unavailable, "only \(simulated.recorder.onlineCount) of \(options.agents) agents were back within \(timeout); log: \(env.controller.tail())")
            }
            let snapshot = simulated.recorder.snapshot
            let times = snapshot.onlineAt.map { Double($0 &- stoppedAt) / 1e9 }.sorted()
            // The store must agree: every instance Online again.
            let api2 = try await env.api()
            var online = 0
            for _ in 0..<200 {
                online = try await api2.instances().filter { $0.pingStatus == .online }.count
                if online == options.agents { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            guard online == options.agents else {
                throw TenderError(.internalError, "the agents were welcomed but only \(online) of \(options.agents) instances are Online in the store")
            }
            return Result(agents: options.agents, p50OnlineSeconds: Units.rounded(Percentile.of(times, 50), places: 2),
                          p95OnlineSeconds: Units.rounded(Percentile.of(times, 95), places: 2), allOnlineSeconds: Units.rounded(times.last ?? 0, places: 2),
                          failedHandshakes: snapshot.failedHandshakes - handshakeFailuresBefore, controllerPeakRssMB: Units.megabytes(peak),
                          restartSeconds: Units.rounded(restartSeconds, places: 2), database: options.database == nil ? "sqlite" : "postgres")
        }
    }
}
