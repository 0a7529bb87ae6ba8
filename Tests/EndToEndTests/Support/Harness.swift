import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// End-to-end harness: real `tender-controller`, `tender-agent` and `tender`
// processes on loopback. Every test gets its own Sandbox (temp dir, its own data
// dirs, port-0 listeners) so tests can run in parallel and twice in a row; every
// process a sandbox starts is SIGKILLed when the test ends, whether it passed,
// failed or was cancelled.

struct E2EError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Binaries

enum Binaries {
    static let names = ["tender-controller", "tender-agent", "tender"]

    /// The build directory holding the executables: `TENDER_E2E_BIN_DIR`, else the
    /// nearest ancestor of the running test binary that contains `tender-controller`.
    static let directory: Result<URL, E2EError> = {
        let fm = FileManager.default
        func holdsBinaries(_ dir: URL) -> Bool {
            fm.isExecutableFile(atPath: dir.appendingPathComponent("tender-controller").path)
        }
        if let override = ProcessInfo.processInfo.environment["TENDER_E2E_BIN_DIR"], !override.isEmpty {
            let dir = URL(fileURLWithPath: override)
            return holdsBinaries(dir) ? .success(dir) : .failure(E2EError("TENDER_E2E_BIN_DIR=\(override) does not contain tender-controller"))
        }
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath(), Bundle.main.bundleURL]
        if let exe = Bundle.main.executableURL { starts.append(exe) }
        var tried: [String] = []
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<8 {
                tried.append(dir.path)
                if holdsBinaries(dir) { return .success(dir) }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        return .failure(E2EError("""
            cannot find the tender executables (tender-controller, tender-agent, tender) next to the test binary.
            Build them with `swift build --build-tests` first, or set TENDER_E2E_BIN_DIR. Looked in:
              \(tried.joined(separator: "\n  "))
            """))
    }()

    static func path(_ name: String) throws -> String {
        let dir = try directory.get()
        let url = dir.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw E2EError("\(url.path) is missing or not executable; run `swift build --build-tests`")
        }
        return url.path
    }
}

// MARK: - Processes

/// One child process with stdout/stderr captured to files in the sandbox.
final class ManagedProcess: Sendable {
    let label: String
    let commandLine: String
    let stdoutURL: URL
    let stderrURL: URL
    let startedAt = ContinuousClock.now
    private let process: Process

    init(label: String, executable: String, arguments: [String], environment: [String: String], stdoutURL: URL, stderrURL: URL) throws {
        self.label = label
        self.stdoutURL = stdoutURL
        self.stderrURL = stderrURL
        self.commandLine = ([executable] + arguments).joined(separator: " ")
        let fm = FileManager.default
        _ = fm.createFile(atPath: stdoutURL.path, contents: nil)
        _ = fm.createFile(atPath: stderrURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: stdoutURL)
        let err = try FileHandle(forWritingTo: stderrURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        self.process = process
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// The exit status (or the signal number when killed by a signal); nil while running.
    var exitCode: Int32? { process.isRunning ? nil : process.terminationStatus }
    var killedBySignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    func signal(_ sig: Int32) {
        if process.isRunning { _ = kill(process.processIdentifier, sig) }
    }

    /// Waits for the process to exit; returns its exit code, or nil if it is still running at the deadline.
    @discardableResult
    func waitForExit(timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    /// SIGKILL and wait (synchronously, for cleanup paths).
    func killNow() {
        guard process.isRunning else { return }
        _ = kill(process.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
    }

    /// `kill -9` and wait until it is gone.
    func kill9() async throws {
        signal(SIGKILL)
        guard try await waitForExit(timeout: .seconds(10)) != nil else {
            throw E2EError("\(label) (pid \(pid)) survived SIGKILL for 10 s")
        }
    }

    func logTail(_ maxBytes: Int = 6000) -> String {
        func tail(_ text: String) -> String {
            text.utf8.count <= maxBytes ? text : "…" + String(decoding: Array(text.utf8.suffix(maxBytes)), as: UTF8.self)
        }
        let status = isRunning ? "running" : "exited \(process.terminationStatus)\(killedBySignal ? " (signal)" : "")"
        var text = "----- \(label) [pid \(pid), \(status)]: \(commandLine)\n"
        let out = stdout, err = stderr
        if !out.isEmpty { text += "stdout:\n" + tail(out) + "\n" }
        if !err.isEmpty { text += "stderr:\n" + tail(err) + "\n" }
        return text
    }
}

/// What a finished short-lived command produced.
struct CommandResult: Sendable, CustomStringConvertible {
    let label: String
    let exitCode: Int32
    let stdout: String
    let stderr: String

    var description: String { "\(label) exited \(exitCode)\nstdout: \(stdout)\nstderr: \(stderr)" }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(stdout.utf8))
        } catch {
            throw E2EError("cannot decode \(T.self) from the output of \(label): \(error)\n\(description)")
        }
    }
}

// MARK: - Sandbox

final class Sandbox: Sendable {
    let name: String
    let root: URL
    /// The processes started so far and the log-file counter.
    private let state = Mutex<(processes: [ManagedProcess], counter: Int)>(([], 0))

    init(_ name: String) throws {
        self.name = name
        let base = FileManager.default.temporaryDirectory
        root = base.appendingPathComponent("tender-e2e-\(name)-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("logs"), withIntermediateDirectories: true)
    }

    func url(_ component: String) -> URL { root.appendingPathComponent(component) }

    /// The environment for children: ours, minus anything that could steer them
    /// somewhere else (proxies, TENDER_* defaults), plus `extra`.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("TENDER_") || key.lowercased().hasSuffix("_proxy") {
            env[key] = nil
        }
        env.merge(extra) { _, new in new }
        return env
    }

    private func nextLogBase(_ label: String) -> URL {
        let n = state.withLock { state in
            state.counter += 1
            return state.counter
        }
        let safe = label.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        return url("logs/\(String(format: "%03d", n))-\(String(safe))")
    }

    /// Starts a long-running process; it is killed when the sandbox is cleaned up.
    func launch(_ label: String, binary: String, _ arguments: [String], environment extra: [String: String] = [:]) throws -> ManagedProcess {
        let base = nextLogBase(label)
        let executable = binary.hasPrefix("/") ? binary : try Binaries.path(binary)
        let process = try ManagedProcess(
            label: label, executable: executable, arguments: arguments, environment: environment(extra),
            stdoutURL: base.appendingPathExtension("stdout"), stderrURL: base.appendingPathExtension("stderr")
        )
        state.withLock { $0.processes.append(process) }
        return process
    }

    /// Runs a command to completion (killed after `timeout`).
    func run(_ label: String, binary: String, _ arguments: [String], environment extra: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> CommandResult {
        let process = try launch(label, binary: binary, arguments, environment: extra)
        guard let code = try await process.waitForExit(timeout: timeout) else {
            process.killNow()
            throw E2EError("\(label) did not finish within \(timeout): \(process.commandLine)\n\(process.logTail())")
        }
        return CommandResult(label: label, exitCode: code, stdout: process.stdout, stderr: process.stderr)
    }

    func allProcesses() -> [ManagedProcess] {
        state.withLock { $0.processes }
    }

    func killAll() {
        for process in allProcesses() { process.killNow() }
    }

    func dumpLogs(reason: String) {
        var text = "===== E2E sandbox \(name) (\(root.path)) failed: \(reason)\n"
        for process in allProcesses() where process.label.hasPrefix("controller") || process.label.hasPrefix("agent") || process.label.hasPrefix("raw") {
            text += process.logTail()
        }
        print(text)
    }

    func removeFiles() {
        if ProcessInfo.processInfo.environment["TENDER_E2E_KEEP"] == "1" {
            print("E2E: keeping \(root.path)")
            return
        }
        try? FileManager.default.removeItem(at: root)
    }
}

/// Runs `body` with a fresh sandbox; every process is killed and the temp dir removed
/// afterwards. On a thrown error (including a failed `#require`) the processes' logs are printed.
/// At most `SandboxSlots.shared.capacity` sandboxes run at once, however many tests the
/// runner starts together (`swift test` alone starts them all).
func withSandbox(_ name: String, _ body: (Sandbox) async throws -> Void) async throws {
    try await SandboxSlots.shared.acquire()
    do {
        try await runSandbox(name, body)
    } catch {
        await SandboxSlots.shared.release()
        throw error
    }
    await SandboxSlots.shared.release()
}

private func runSandbox(_ name: String, _ body: (Sandbox) async throws -> Void) async throws {
    let sandbox = try Sandbox(name)
    do {
        try await body(sandbox)
    } catch {
        sandbox.dumpLogs(reason: "\(error)")
        sandbox.killAll()
        sandbox.removeFiles()
        throw error
    }
    sandbox.killAll()
    sandbox.removeFiles()
}

// MARK: - Running sandboxes side by side

/// Bounds how many sandboxes (each a controller, agents and their work) run at once.
/// Every end-to-end check has a deadline; with every test of the package started at
/// once on two cores, those deadlines measure the machine's queue, not the product.
/// Tests beyond the bound wait here in arrival order. `TENDER_E2E_PARALLEL` sets the
/// bound; the default is twice the core count, at least 2.
actor SandboxSlots {
    static let shared = SandboxSlots(capacity: SandboxSlots.configuredCapacity)

    static var configuredCapacity: Int {
        if let text = ProcessInfo.processInfo.environment["TENDER_E2E_PARALLEL"], let value = Int(text), value > 0 {
            return value
        }
        return max(2, 2 * ProcessInfo.processInfo.activeProcessorCount)
    }

    let capacity: Int
    private var inUse = 0
    private var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Waits for a free slot; a cancelled wait (a test's time limit) throws and takes none.
    func acquire() async throws {
        if inUse < capacity, waiting.isEmpty {
            inUse += 1
            return
        }
        nextID += 1
        let id = nextID
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiting.append((id, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWait(id) }
        }
    }

    func release() {
        if waiting.isEmpty {
            inUse -= 1
        } else {
            // The slot passes straight to the next in line.
            waiting.removeFirst().continuation.resume()
        }
    }

    private func cancelWait(_ id: UInt64) {
        guard let index = waiting.firstIndex(where: { $0.id == id }) else { return }
        waiting.remove(at: index).continuation.resume(throwing: CancellationError())
    }
}

// MARK: - Polling

/// Polls `probe` until it returns a value, or throws at the deadline naming what was awaited
/// and the last thing the probe saw/threw. Never a fixed long sleep.
@discardableResult
func eventually<T>(
    _ what: @autoclosure () -> String,
    timeout: Duration,
    every interval: Duration = .milliseconds(250),
    _ probe: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while true {
        do {
            if let value = try await probe() { return value }
            lastError = nil
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            lastError = error
        }
        if ContinuousClock.now >= deadline {
            throw E2EError("timed out after \(timeout) waiting for \(what())\(lastError.map { "; last error: \($0)" } ?? "")")
        }
        try await Task.sleep(for: interval)
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

extension String {
    func occurrences(of needle: String) -> Int {
        components(separatedBy: needle).count - 1
    }
}
