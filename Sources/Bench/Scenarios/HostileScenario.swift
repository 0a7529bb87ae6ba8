import Foundation
import NIOConcurrencyHelpers
import NIOCore
import TenderAPI
import TenderWire

/// `tender-bench hostile`: one registered agent floods the controller (pings, or
/// messages it must answer) without ever reading, next to a few well-behaved
/// agents. Reports how the controller's memory moved, whether and when it closed
/// the hostile connection, whether `/v1/health` kept answering, and whether the
/// other agents stayed online and still run a command.
public struct HostileScenario: Sendable {
    public struct Result: Codable, Sendable {
        public var flood: String
        public var agents: Int
        public var framesSent: Int
        public var hostileClosed: Bool
        public var hostileClosedAfterSeconds: Double?
        public var controllerRssBeforeMB: Double
        public var controllerPeakRssMB: Double
        public var rssGrowthMB: Double
        public var healthChecks: Int
        public var healthFailures: Int
        public var healthMaxMs: Double
        public var othersOnline: Int
        public var commandAfterFloodMs: Double
    }

    public let options: BenchOptions
    public let kind: String
    public let seconds: Int

    /// - Parameters:
    ///   - kind: `pings`, `messages` or `garbage`.
    ///   - seconds: the longest the flood goes on if the controller never closes it.
    public init(options: BenchOptions, kind: String, seconds: Int) {
        self.options = options
        self.kind = kind
        self.seconds = seconds
    }

    public func run() async throws -> Result {
        guard let flood = FloodingAgentHandler.Kind(rawValue: kind) else {
            throw TenderError.validation("--flood must be pings, messages or garbage, got '\(kind)'")
        }
        return try await BenchEnvironment.run(options) { env in
            let api = try await env.api()
            let identities = try await env.registerFleet(options.agents + 1, api: api)
            guard let pid = await env.controller.pid else { throw TenderError(.unavailable, "the controller is not running") }
            let others = Array(identities.dropLast())
            let fleet = await env.makeFleet(others)
            _ = try await env.connect(fleet)
            try await Task.sleep(for: .seconds(1))
            let before = try ProcessStats.read(pid: pid).rssBytes

            // Watchers: the controller's memory and its health endpoint, every 100 ms.
            let peak = NIOLockedValueBox(before)
            let health = NIOLockedValueBox((checks: 0, failures: 0, maxMs: 0.0))
            let watching = Task {
                while !Task.isCancelled {
                    if let rss = try? ProcessStats.read(pid: pid).rssBytes { peak.withLockedValue { $0 = max($0, rss) } }
                    let started = ContinuousClock.now
                    let ok = (try? await api.health(timeout: .seconds(5))) != nil
                    // A check cut short because the watch ended says nothing about the controller.
                    if Task.isCancelled { break }
                    let ms = (ContinuousClock.now - started).seconds * 1000
                    health.withLockedValue { $0 = ($0.checks + 1, $0.failures + (ok ? 0 : 1), max($0.maxMs, ms)) }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            defer { watching.cancel() }

            env.progress("one agent floods \(flood.rawValue) without reading, for at most \(seconds) s")
            let record = FloodRecord()
            let connector = SimulatedConnector(host: "127.0.0.1", port: await env.controller.agentPort, group: env.group, recorder: fleet.recorder)
            let until = NIODeadline.now() + .seconds(Int64(seconds))
            let channel = try await connector.connect(index: options.agents, identity: identities[identities.count - 1]) {
                FloodingAgentHandler(kind: flood, record: record, until: until)
            }
            let deadline = ContinuousClock.now + .seconds(seconds + 5)
            while !record.isClosed, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            try? await channel.close()
            // A little longer, so memory the flood left behind is seen too.
            try await Task.sleep(for: .seconds(2))
            watching.cancel()
            _ = await watching.value
            env.progress("hostile agent sent \(record.frames) frames; closed by the controller: \(record.closedByController)")

            // The others are unaffected: still online, and they still run a command.
            let online = try await api.instances().filter { $0.pingStatus == .online && others.map(\.instanceID).contains($0.instanceId) }.count
            fleet.recorder.resetRun()
            let sentAt = ContinuousClock.now
            let command = try await api.sendCommand(SendCommandRequest(
                documentName: "Tender-RunShellScript", parameters: ["commands": .string("true")],
                targets: ["ids=" + others.map(\.instanceID).joined(separator: ",")], maxConcurrency: "100%", maxErrors: "0", timeoutSeconds: 60,
                comment: "tender-bench hostile"))
            guard await fleet.recorder.wait(timeout: .seconds(30), until: { $0.stored == others.count }) else {
                throw TenderError(.unavailable, "after the flood only \(fleet.recorder.storedCount) of \(others.count) agents' results were stored (command \(command.commandId)); controller log: \(env.controller.tail())")
            }
            let commandMs = (ContinuousClock.now - sentAt).seconds * 1000
            let peakBytes = peak.withLockedValue { $0 }
            let checks = health.withLockedValue { $0 }
            return Result(
                flood: flood.rawValue, agents: options.agents, framesSent: record.frames, hostileClosed: record.closedByController,
                hostileClosedAfterSeconds: record.secondsUntilClosed.map { Units.rounded($0, places: 2) },
                controllerRssBeforeMB: Units.megabytes(before), controllerPeakRssMB: Units.megabytes(peakBytes),
                rssGrowthMB: Units.megabytes(max(0, peakBytes - before)), healthChecks: checks.checks, healthFailures: checks.failures,
                healthMaxMs: Units.rounded(checks.maxMs), othersOnline: online, commandAfterFloodMs: Units.rounded(commandMs))
        }
    }
}
