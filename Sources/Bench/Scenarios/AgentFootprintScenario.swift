import Foundation
import Shared

/// `tender-agent`'s cost on a managed host: the real binary, registered and connected
/// to a real controller, measured idle and while it streams a large output.
public struct AgentFootprintScenario: Sendable {
    public struct Result: Sendable, Encodable {
        public var idleRssMB: Double
        public var idleCpuPercent: Double
        public var peakRssDuringOutputMB: Double
        /// nil until the agent scans for patches.
        public var peakRssDuringScanMB: Double?
        public var binaryMB: Double
        public var idleSeconds: Int
        public var outputMB: Int
        public var threads: Int

        enum CodingKeys: String, CodingKey {
            case idleRssMB, idleCpuPercent, peakRssDuringOutputMB, peakRssDuringScanMB, binaryMB, idleSeconds, outputMB, threads
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(idleRssMB, forKey: .idleRssMB)
            try container.encode(idleCpuPercent, forKey: .idleCpuPercent)
            try container.encode(peakRssDuringOutputMB, forKey: .peakRssDuringOutputMB)
            // Always present: null says "not measured yet", not "forgotten".
            try container.encode(peakRssDuringScanMB, forKey: .peakRssDuringScanMB)
            try container.encode(binaryMB, forKey: .binaryMB)
            try container.encode(idleSeconds, forKey: .idleSeconds)
            try container.encode(outputMB, forKey: .outputMB)
            try container.encode(threads, forKey: .threads)
        }
    }

    public let options: BenchOptions
    public let idleSeconds: Int
    public let outputMB: Int

    public init(options: BenchOptions, idleSeconds: Int = 60, outputMB: Int = 100) {
        self.options = options
        self.idleSeconds = idleSeconds
        self.outputMB = outputMB
    }

    public func run() async throws -> Result {
        let env = try BenchEnvironment(options: options)
        let agentBinary = try Executables.sibling("tender-agent", binDirectory: options.binDirectory)
        let stateDirectory = env.workDirectory.appendingPathComponent("agent")
        let agent = Process()
        do {
            try await env.controller.start()
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
            // Settle (first connect, status file), then the idle window.
            try await Task.sleep(for: .seconds(3))
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
            let binarySize = (try FileManager.default.attributesOfItem(atPath: agentBinary.path)[.size] as? NSNumber)?.intValue ?? 0
            agent.terminate()
            agent.waitUntilExit()
            try? logHandle.close()
            await env.tearDown()
            return Result(idleRssMB: Units.megabytes(idlePeak), idleCpuPercent: Units.rounded(cpuSeconds / elapsed * 100, places: 3),
                          peakRssDuringOutputMB: Units.megabytes(sampledPeak), peakRssDuringScanMB: nil,
                          binaryMB: Units.megabytes(binarySize), idleSeconds: idleSeconds, outputMB: outputMB, threads: threads)
        } catch {
            if agent.isRunning {
                agent.terminate()
                agent.waitUntilExit()
            }
            await env.tearDown()
            throw error
        }
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
