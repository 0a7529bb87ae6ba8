import Foundation
import PatchSandbox
import TenderAPI
import TenderWire

/// `tender-agent`'s cost on a managed host: the real binary, registered and connected
/// to a real controller, measured idle, while it streams a large output, and while
/// it scans for patches: a test repository built here (`--scan-packages` installed
/// packages, a third with a security update, a third with another update) and a
/// read-only copy of this host's packages and apt lists (`AptSandbox.mirrorHost`).
public struct AgentFootprintScenario: Sendable {
    public struct Result: Sendable, Encodable {
        public var idleRssMB: Double
        public var idleCpuPercent: Double
        public var peakRssDuringOutputMB: Double
        /// A patch scan of the test repository's root.
        public var peakRssDuringScanMB: Double?
        public var scanPackages: Int?
        public var scanSeconds: Double?
        /// A patch scan of a copy of this host's dpkg database and apt lists (nil when
        /// the host has none, or `--no-host-scan`).
        public var peakRssDuringHostScanMB: Double?
        public var hostScanPackages: Int?
        public var hostScanSeconds: Double?
        /// As installed: without symbols and debug information (`strip`).
        public var binaryMB: Double
        /// The file the build produced, debug information included.
        public var binaryUnstrippedMB: Double
        public var idleSeconds: Int
        public var outputMB: Int
        public var threads: Int

        enum CodingKeys: String, CodingKey {
            case idleRssMB, idleCpuPercent, peakRssDuringOutputMB, peakRssDuringScanMB, scanPackages, scanSeconds
            case peakRssDuringHostScanMB, hostScanPackages, hostScanSeconds, binaryMB, binaryUnstrippedMB, idleSeconds, outputMB, threads
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(idleRssMB, forKey: .idleRssMB)
            try container.encode(idleCpuPercent, forKey: .idleCpuPercent)
            try container.encode(peakRssDuringOutputMB, forKey: .peakRssDuringOutputMB)
            // Always present: null says "not measured", not "forgotten".
            try container.encode(peakRssDuringScanMB, forKey: .peakRssDuringScanMB)
            try container.encode(scanPackages, forKey: .scanPackages)
            try container.encode(scanSeconds, forKey: .scanSeconds)
            try container.encode(peakRssDuringHostScanMB, forKey: .peakRssDuringHostScanMB)
            try container.encode(hostScanPackages, forKey: .hostScanPackages)
            try container.encode(hostScanSeconds, forKey: .hostScanSeconds)
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

    /// Packages installed in the scanned test root (0: no scan).
    public let scanPackages: Int
    /// Also scan a copy of this host's packages.
    public let hostScan: Bool

    public init(options: BenchOptions, idleSeconds: Int = 60, outputMB: Int = 100, scanPackages: Int = 300, hostScan: Bool = true) {
        self.options = options
        self.idleSeconds = idleSeconds
        self.outputMB = outputMB
        self.scanPackages = scanPackages
        self.hostScan = hostScan
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
        let (done, sampledPeak) = try await Self.measurePeak(of: pid, api: api, running: SendCommandRequest(
            documentName: "Tender-RunShellScript", parameters: ["commands": .string("yes 'tender-bench output line' | head -c \(bytes)")],
            targets: ["*"], timeoutSeconds: 600, comment: "tender-bench agent-footprint"))
        guard done.status == .success else {
            throw TenderError(.internalError, "the output command ended \(done.status.rawValue); agent log: \(log.path)")
        }
        // Every byte reached the controller: the stored output has the full size.
        let instance = try await api.instances().first?.instanceId ?? ""
        let stored = env.controller.dataDirectory.appendingPathComponent("blobs/output/\(done.commandId.lowercased())/\(instance).stdout")
        let storedSize = (try? FileManager.default.attributesOfItem(atPath: stored.path)[.size] as? NSNumber)?.intValue ?? -1
        guard storedSize == bytes else {
            throw TenderError(.internalError, "the controller holds \(storedSize) bytes of output, expected \(bytes)")
        }
        let size = try Self.binarySize(agentBinary, workDirectory: env.workDirectory)
        agent.terminate()
        agent.waitUntilExit()
        defer { try? logHandle.close() }
        var result = Result(idleRssMB: Units.megabytes(idlePeak), idleCpuPercent: Units.rounded(cpuSeconds / elapsed * 100, places: 3),
                            peakRssDuringOutputMB: Units.megabytes(sampledPeak),
                            binaryMB: Units.megabytes(size.stripped ?? size.file), binaryUnstrippedMB: Units.megabytes(size.file), idleSeconds: idleSeconds, outputMB: outputMB, threads: threads)

        let scanner = PatchScanMeasurement(api: api, agentBinary: agentBinary, stateDirectory: stateDirectory, log: logHandle, progress: env.progress)
        if scanPackages > 0 {
            let system = try AptSandbox()
            env.progress("building a test repository with \(scanPackages) installed packages")
            try Self.populate(system, packages: scanPackages)
            let scan = try await scanner.scan(root: system.root)
            (result.peakRssDuringScanMB, result.scanPackages, result.scanSeconds) = (Units.megabytes(scan.peak), scanPackages, scan.seconds)
        }
        if hostScan, FileManager.default.fileExists(atPath: "/var/lib/dpkg/status") {
            let system = try AptSandbox()
            env.progress("copying this host's dpkg database and apt lists (read-only)")
            do {
                let mirror = try system.mirrorHost()
                let scan = try await scanner.scan(root: system.root)
                (result.peakRssDuringHostScanMB, result.hostScanPackages, result.hostScanSeconds) = (Units.megabytes(scan.peak), mirror.installedPackages, scan.seconds)
            } catch let error as SandboxError {
                env.progress("no scan of this host's packages: \(error.message)")
            }
        }
        return result
    }

    /// `count` packages at 1.0; every third has 1.1 in the security archive, every
    /// third after it 1.1 in the regular updates.
    static func populate(_ system: AptSandbox, packages count: Int) throws {
        var installed: [URL] = []
        for index in 0..<count {
            let name = "bench-package-\(index)"
            installed.append(try system.add(name, "1.0", to: .base, section: index % 2 == 0 ? "admin" : "libs"))
            switch index % 3 {
            case 0: try system.add(name, "1.1", to: .security)
            case 1: try system.add(name, "1.1", to: .updates)
            default: break
            }
        }
        try system.publish()
        try system.install(installed)
    }

    /// Sends `request` and waits for its end (its own timeout at most), sampling the
    /// agent's RSS. The kernel's peak (VmHWM) is reset first, so it covers this
    /// command alone, not start-up, and read after, so a spike between samples is
    /// not missed.
    static func measurePeak(of pid: Int32, api: BenchAPI, running request: SendCommandRequest) async throws -> (done: CommandInfo, peakBytes: Int) {
        try? "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8)
        let sampler = RSSSampler(pid: pid, every: .milliseconds(20))
        let command = try await api.sendCommand(request)
        var done: CommandInfo
        let deadline = ContinuousClock.now + .seconds(request.timeoutSeconds ?? 600)
        repeat {
            try await Task.sleep(for: .milliseconds(200))
            done = try await api.command(command.commandId)
        } while !done.status.isTerminal && ContinuousClock.now < deadline
        return (done, max(await sampler.stop(), (try? ProcessStats.read(pid: pid).peakRssBytes) ?? 0))
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

/// One patch scan by the real agent on a package root, its peak RSS measured: the
/// agent is started with `--package-root`, left to settle, its kernel peak reset,
/// then sent `Tender-RunPatchBaseline` with `Scan` and sampled until the scan ends.
struct PatchScanMeasurement: Sendable {
    let api: BenchAPI
    let agentBinary: URL
    let stateDirectory: URL
    let log: FileHandle
    let progress: @Sendable (String) -> Void

    func scan(root: URL) async throws -> (peak: Int, seconds: Double) {
        try await waitForStatus(.connectionLost, timeout: .seconds(30))
        let agent = Process()
        agent.executableURL = agentBinary
        agent.arguments = ["run", "--state-dir", stateDirectory.path, "--package-root", root.path]
        agent.standardOutput = log
        agent.standardError = log
        try agent.run()
        defer {
            if agent.isRunning {
                agent.terminate()
                agent.waitUntilExit()
            }
        }
        try await waitForStatus(.online, timeout: .seconds(30))
        try await Task.sleep(for: .seconds(5))
        let pid = agent.processIdentifier
        progress("scanning \(root.path)")
        let started = ContinuousClock.now
        let (done, peak) = try await AgentFootprintScenario.measurePeak(of: pid, api: api, running: SendCommandRequest(
            documentName: "Tender-RunPatchBaseline", parameters: ["operation": .string("Scan")], targets: ["*"], timeoutSeconds: 1800,
            comment: "tender-bench agent-footprint scan"))
        let seconds = (ContinuousClock.now - started).seconds
        guard done.status == .success else {
            throw TenderError(.internalError, "the patch scan of \(root.path) ended \(done.status.rawValue); see the agent log")
        }
        return (peak, Units.rounded(seconds, places: 1))
    }

    private func waitForStatus(_ status: PingStatus, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await api.instances().first?.pingStatus == status { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TenderError(.unavailable, "the agent did not become \(status.rawValue) within \(timeout)")
    }
}
