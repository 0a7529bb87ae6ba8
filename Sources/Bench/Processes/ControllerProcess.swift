import Foundation
import TenderWire

/// The controller under test: the real `tender-controller` binary in its own process
/// (so its memory is measured alone), on loopback, with a data dir in the bench's
/// work dir.
public actor ControllerProcess {
    public let binary: URL
    public let dataDirectory: URL
    public let database: String?
    public let extraArguments: [String]
    private let logFile: URL
    private var process: Process?
    public private(set) var agentPort = 0
    public private(set) var apiPort = 0

    public init(binary: URL, workDirectory: URL, database: String?, extraArguments: [String] = []) {
        self.binary = binary
        self.dataDirectory = workDirectory.appendingPathComponent("controller")
        self.logFile = workDirectory.appendingPathComponent("controller.log")
        self.database = database
        self.extraArguments = extraArguments
    }

    public var pid: Int32? { process?.processIdentifier }
    public var agentURL: String { "https://127.0.0.1:\(agentPort)" }
    public var apiURL: String { "https://127.0.0.1:\(apiPort)" }
    public nonisolated var caPEM: URL { dataDirectory.appendingPathComponent("ca.pem") }
    public nonisolated var adminToken: String {
        get throws {
            try String(contentsOf: dataDirectory.appendingPathComponent("admin.token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Starts the controller and waits until both listeners are bound. The first start
    /// takes free ports; a restart binds the same ones, as a real restart would.
    public func start(timeout: Duration = .seconds(60)) async throws {
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let listenFile = dataDirectory.appendingPathComponent("listen.json")
        try? FileManager.default.removeItem(at: listenFile)
        let process = Process()
        process.executableURL = binary
        var arguments = ["serve", "--data-dir", dataDirectory.path,
                         "--agent-listen", "127.0.0.1:\(agentPort)", "--api-listen", "127.0.0.1:\(apiPort)"]
        if let database { arguments += ["--database", database] }
        // Every simulated agent connects from 127.0.0.1: lift the per-address cap to the total.
        arguments += ["--agent-max-connections-per-address", "20000"]
        process.arguments = arguments + extraArguments
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logFile)
        try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        self.process = process
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let data = try? Data(contentsOf: listenFile), let info = try? JSONDecoder().decode(ListenInfo.self, from: data) {
                agentPort = info.agentPort
                apiPort = info.apiPort
                return
            }
            guard process.isRunning else {
                throw TenderError(.unavailable, "the controller exited with status \(process.terminationStatus) while starting; its log: \(logFile.path)\n\(tail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TenderError(.unavailable, "the controller did not bind its listeners within \(timeout); its log: \(logFile.path)")
    }

    /// SIGTERM (a graceful stop, as systemd does it), then SIGKILL if it lingers.
    @discardableResult
    public func stop(grace: Duration = .seconds(60)) async -> Int32? {
        guard let process, process.isRunning else { return nil }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        self.process = nil
        return process.terminationStatus
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    /// The last lines of the controller's log, for error messages.
    public nonisolated func tail(lines: Int = 15) -> String {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Lines of the log that contain `text`, counted (e.g. crashes or TLS failures).
    public nonisolated func logCount(containing text: String) -> Int {
        guard let log = try? String(contentsOf: logFile, encoding: .utf8) else { return 0 }
        return log.split(separator: "\n").filter { $0.contains(text) }.count
    }

    struct ListenInfo: Decodable {
        var agentPort: Int
        var apiPort: Int
    }
}

/// Locates the sibling executables (`tender-controller`, `tender-agent`) next to
/// `tender-bench`, so a release build benchmarks release binaries.
public enum Executables {
    public static func sibling(_ name: String, binDirectory: String?) throws -> URL {
        let directory: URL
        if let binDirectory {
            directory = URL(fileURLWithPath: binDirectory)
        } else {
            directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        }
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw TenderError(.notFound, "\(name) not found in \(directory.path): build it first (swift build -c release --static-swift-stdlib), or pass --bin-dir")
        }
        return url
    }
}

/// File descriptors: a fleet of N simulated agents needs N sockets here and N in the
/// controller (which inherits the limit), more than the usual soft limit of 1024.
public enum FileLimit {
    /// Raises the soft limit to the hard limit; returns the new soft limit.
    @discardableResult
    public static func raiseToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int(limit.rlim_cur)
    }
}
