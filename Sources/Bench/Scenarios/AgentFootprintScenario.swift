import Foundation
import TenderAPI
import TenderWire

/// `tender-agent`'s cost on a managed host: the real binary, registered and connected
/// to a real controller, measured idle and while it streams a large output.
public struct AgentFootprintScenario: Sendable {
    public struct Result: Sendable, Encodable {
        public var idleRssMB: Double
        public var idleCpuPercent: Double
        public var peakRssDuringOutputMB: Double
        /// nil until the agent scans for patches.
        public var peakRssDuringScanMB: Double?
        /// As installed: without symbols and debug information (`strip`).
        public var binaryMB: Double
        /// The file the build produced, debug information included.
        public var binaryUnstrippedMB: Double
        public var idleSeconds: Int
        public var outputMB: Int
        public var threads: Int

        enum CodingKeys: String, CodingKey {
            case idleRssMB, idleCpuPercent, peakRssDuringOutputMB, peakRssDuringScanMB, binaryMB, binaryUnstrippedMB, idleSeconds, outputMB, threads
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(idleRssMB, forKey: .idleRssMB)
            try container.encode(idleCpuPercent, forKey: .idleCpuPercent)
            try container.encode(peakRssDuringOutputMB, forKey: .peakRssDuringOutputMB)
            // Always present: null says "not measured yet", not "forgotten".
            try container.encode(peakRssDuringScanMB, forKey: .peakRssDuringScanMB)
            try container.encode(binaryMB, forKey: .binaryMB)
            try container.encode(binaryUnstrippedMB, forKey: .binaryUnstrippedMB)
            try container.encode(idleSeconds, forKey: .idleSeconds)
            try container.encode(outputMB, forKey: .outputMB)
            try container.encode(threads, forKey: .threads)
        }
    }

    public let options: BenchOptions
    public let idleSeconds: Int
    public let outputMB: Int
    /// Between connecting and the idle window (the controller's default heartbeat is
    /// 2 s; the agent trims its start-up pages after five of them).
    public let settleSeconds = 15

    public init(options: BenchOptions, idleSeconds: Int = 60, outputMB: Int = 100) {
        self.options = options
        self.idleSeconds = idleSeconds
        self.outputMB = outputMB
    }

    public func run() async throws -> Result {
        let agentBinary = try Executables.sibling("tender-agent", binDirectory: options.binDirectory)
        return try await BenchEnvironment.run(options) { env in
            let agent = Process()
            do {
                return try await measure(env, agent: agent, agentBinary: agentBinary)
            } catch {
                if agent.isRunning {
                    agent.terminate()
                    agent.waitUntilExit()
                }
                throw error
            }
        }
    }

    private func measure(_ env: BenchEnvironment, agent: Process, agentBinary: URL) async throws -> Result {
        let stateDirectory = env.workDirectory.appendingPathComponent("agent")
        let api = try await env.api()
        let activation = try await api.createActivation(limit: 1)
        env.progress("registering the real tender-agent (\(agentBinary.path))")
        let register = Process()
        register.executableURL = agentBinary
        register.arguments = ["register", "--controller", await env.controller.agentURL, "--activation-id", activation.activationId,
                              "--ca-fingerprint", activation.caFingerprint, "--state-dir", stateDirectory.path]
        var environment = ProcessInfo.processInfo.environment
        environment["TENDER_ACTIVATION_CODE"] = activation.activationCode
        register.environment = environment
        let log = env.workDirectory.appendingPathComponent("agent.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        register.standardOutput = logHandle
        register.standardError = logHandle
        try register.run()
        register.waitUntilExit()
        guard register.terminationStatus == 0 else {
            throw TenderError(.unavailable, "tender-agent register exited \(register.terminationStatus): \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        }
        agent.executableURL = agentBinary
        agent.arguments = ["run", "--state-dir", stateDirectory.path]
        agent.standardOutput = logHandle
        agent.standardError = logHandle
        try agent.run()
        let pid = agent.processIdentifier
        guard try await waitOnline(api, timeout: .seconds(30)) else {
            throw TenderError(.unavailable, "the agent did not come online within 30 s; its log: \(log.path)")
        }
        // Settle first: the agent connects, writes its status, and after five
        // heartbeats gives back the pages only start-up needed. Then the idle
        // window, whose highest RSS is reported.
        try await Task.sleep(for: .seconds(settleSeconds))
        env.progress("measuring the idle agent for \(idleSeconds) s")
        let cpuBefore = try ProcessStats.read(pid: pid).cpuSeconds
        var idlePeak = 0
        let idleStart = ContinuousClock.now
        while ContinuousClock.now - idleStart < .seconds(idleSeconds) {
            idlePeak = max(idlePeak, try ProcessStats.read(pid: pid).rssBytes)
            try await Task.sleep(for: .milliseconds(500))
        }
        let cpuSeconds = try ProcessStats.read(pid: pid).cpuSeconds - cpuBefore
        let elapsed = (ContinuousClock.now - idleStart).seconds
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? 0

        env.progress("streaming \(outputMB) MB of output through the agent")
        let bytes = outputMB * 1_048_576
        // Reset the kernel's peak (VmHWM) so it covers the output alone, not start-up.
        try? "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8)
        let sampler = RSSSampler(pid: pid, every: .milliseconds(20))
        let command = try await api.sendCommand(SendCommandRequest(
            documentName: "Tender-RunShellScript", parameters: ["commands": .string("yes 'tender-bench output line' | head -c \(bytes)")],
            targets: ["*"], timeoutSeconds: 600, comment: "tender-bench agent-footprint"))
        var done: CommandInfo
        let deadline = ContinuousClock.now + .seconds(600)
        repeat {
            try await Task.sleep(for: .milliseconds(200))
            done = try await api.command(command.commandId)
        } while !done.status.isTerminal && ContinuousClock.now < deadline
        // VmHWM covers the agent's whole life, so a spike between samples is not missed.
        let sampledPeak = max(await sampler.stop(), (try? ProcessStats.read(pid: pid).peakRssBytes) ?? 0)
        guard done.status == .success else {
            throw TenderError(.internalError, "the output command ended \(done.status.rawValue); agent log: \(log.path)")
        }
        // Every byte reached the controller: the stored output has the full size.
        let instance = try await api.instances().first?.instanceId ?? ""
        let stored = env.controller.dataDirectory.appendingPathComponent("blobs/output/\(command.commandId.lowercased())/\(instance).stdout")
        let storedSize = (try? FileManager.default.attributesOfItem(atPath: stored.path)[.size] as? NSNumber)?.intValue ?? -1
        guard storedSize == bytes else {
            throw TenderError(.internalError, "the controller holds \(storedSize) bytes of output, expected \(bytes)")
        }
        let size = try Self.binarySize(agentBinary, workDirectory: env.workDirectory)
        agent.terminate()
        agent.waitUntilExit()
        try? logHandle.close()
        return Result(idleRssMB: Units.megabytes(idlePeak), idleCpuPercent: Units.rounded(cpuSeconds / elapsed * 100, places: 3),
                      peakRssDuringOutputMB: Units.megabytes(sampledPeak), peakRssDuringScanMB: nil,
                      binaryMB: Units.megabytes(size.stripped ?? size.file), binaryUnstrippedMB: Units.megabytes(size.file), idleSeconds: idleSeconds, outputMB: outputMB, threads: threads)
    }

    /// The file's size, and the size of a stripped copy when `strip` is installed.
    static func binarySize(_ binary: URL, workDirectory: URL) throws -> (file: Int, stripped: Int?) {
        func size(_ url: URL) -> Int { ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber)?.intValue ?? 0 }
        let copy = workDirectory.appendingPathComponent("tender-agent.stripped")
        let strip = Process()
        strip.executableURL = URL(fileURLWithPath: "/usr/bin/strip")
        strip.arguments = ["-o", copy.path, binary.path]
        guard (try? strip.run()) != nil else { return (size(binary), nil) }
        strip.waitUntilExit()
        return (size(binary), strip.terminationStatus == 0 ? size(copy) : nil)
    }

    private func waitOnline(_ api: BenchAPI, timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await api.instances().first?.pingStatus == .online { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
