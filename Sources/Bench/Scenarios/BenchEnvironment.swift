import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TenderAPI
import TenderWire

/// What every scenario needs: a work dir, the controller process under test, the
/// operator API, and one event loop group for the simulated agents.
public struct BenchOptions: Sendable {
    public var agents: Int
    /// Directory holding `tender-controller` and `tender-agent` (default: next to `tender-bench`).
    public var binDirectory: String?
    /// PostgreSQL URL, or nil for the embedded SQLite store.
    public var database: String?
    /// Simultaneous registrations / channel handshakes while setting the fleet up.
    public var registerWidth = 64
    public var connectWidth = 256
    /// Keep the work dir (controller data and log) for a look afterwards.
    public var keepWorkDirectory = false
    /// Progress lines on stderr.
    public var verbose = true

    public init(agents: Int) { self.agents = agents }
}

final class BenchEnvironment: Sendable {
    let options: BenchOptions
    let workDirectory: URL
    let controller: ControllerProcess
    let group: MultiThreadedEventLoopGroup
    /// API clients and fleets to shut down at the end, whatever path the scenario took.
    private let clients = NIOLockedValueBox<[BenchAPI]>([])
    private let fleets = NIOLockedValueBox<[SimulatedFleet]>([])

    /// Runs a scenario against a started controller, and stops the fleets, the
    /// controller and the clients afterwards, whether it succeeded or threw.
    static func run<T: Sendable>(_ options: BenchOptions, controllerArguments: [String] = [], _ body: (BenchEnvironment) async throws -> T) async throws -> T {
        let env = try BenchEnvironment(options: options, controllerArguments: controllerArguments)
        do {
            try await env.controller.start()
            let value = try await body(env)
            await env.tearDown()
            return value
        } catch {
            await env.tearDown()
            throw error
        }
    }

    init(options: BenchOptions, controllerArguments: [String] = []) throws {
        self.options = options
        FileLimit.raiseToHard()
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("tender-bench-\(getpid())-\(Identifiers.randomHex(4))")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        controller = ControllerProcess(binary: try Executables.sibling("tender-controller", binDirectory: options.binDirectory),
                                       workDirectory: workDirectory, database: options.database, extraArguments: controllerArguments)
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    }

    func progress(_ text: String) {
        guard options.verbose else { return }
        FileHandle.standardError.write(Data("tender-bench: \(text)\n".utf8))
    }

    func api() async throws -> BenchAPI {
        let api = try BenchAPI(baseURL: await controller.apiURL, caPEM: controller.caPEM, token: try controller.adminToken, group: group)
        clients.withLockedValue { $0.append(api) }
        return api
    }

    /// Registers `count` simulated agents for real and returns their identities.
    func registerFleet(_ count: Int, api: BenchAPI) async throws -> [SimulatedIdentity] {
        // A reused PostgreSQL database would add earlier runs' (offline) instances to the targets.
        let existing = try await api.instances().count
        guard existing == 0 else {
            throw TenderError(.conflict, "the controller's store already holds \(existing) instances; the bench needs an empty database")
        }
        let activations = try await createActivations(for: count, api: api)
        progress("generating \(count) keys and CSRs")
        let applicants = try SimulatedFleet.makeApplicants(count)
        progress("registering \(count) agents")
        return try await SimulatedFleet.register(applicants, controllerURL: await controller.agentURL, caPEM: controller.caPEM,
                                                 activations: activations, width: options.registerWidth, group: group)
    }

    /// Enough activations for `count` registrations (each allows at most 1000).
    func createActivations(for count: Int, api: BenchAPI) async throws -> [ActivationInfo] {
        var activations: [ActivationInfo] = []
        var left = count
        while left > 0 {
            let limit = min(left, SimulatedFleet.activationLimit)
            activations.append(try await api.createActivation(limit: limit))
            left -= limit
        }
        return activations
    }

    /// Connects the fleet and waits until every agent was welcomed; returns the seconds it took.
    func connect(_ fleet: SimulatedFleet) async throws -> Double {
        progress("connecting \(fleet.count) agents")
        let started = ContinuousClock.now
        await fleet.connectAll(width: options.connectWidth)
        let timeout = Duration.seconds(120 + fleet.count / 50)
        guard await fleet.recorder.wait(timeout: timeout, until: { $0.online == fleet.count }) else {
            throw TenderError(.unavailable, "only \(fleet.recorder.onlineCount) of \(fleet.count) agents came online within \(timeout); controller log: \(controller.tail())")
        }
        let seconds = (ContinuousClock.now - started).seconds
        progress("\(fleet.count) agents online in \(Units.rounded(seconds, places: 2)) s")
        return seconds
    }

    func makeFleet(_ identities: [SimulatedIdentity]) async -> SimulatedFleet {
        let fleet = SimulatedFleet(identities: identities, host: "127.0.0.1", port: await controller.agentPort, group: group)
        fleets.withLockedValue { $0.append(fleet) }
        return fleet
    }

    private func tearDown() async {
        for fleet in fleets.withLockedValue({ $0 }) { await fleet.stop() }
        for api in clients.withLockedValue({ $0 }) { await api.shutdown() }
        await controller.stop()
        try? await group.shutdownGracefully()
        if options.keepWorkDirectory {
            progress("kept the work dir \(workDirectory.path)")
        } else {
            try? FileManager.default.removeItem(at: workDirectory)
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Percentiles of a sample, nearest-rank.
enum Percentile {
    static func of(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }
}
