#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOConcurrencyHelpers
import Subprocess
import SystemPackage
import TenderWire

#if canImport(Glibc)
import Glibc
#endif

/// Runs one package-manager command (`apt-get`, `apt-cache`, `dpkg-query`, `dnf`)
/// for a patch run: in a process group of its own, under a deadline, with the C
/// locale so its output reads the same everywhere.
///
/// What the tool prints is either captured (bounded: a command that prints more is
/// an error, not a memory spike) for the backend to parse, or appended to the
/// invocation's output files for the operator to read (installs).
struct PackageTool: Sendable {
    /// The most a captured command may print. `apt-cache policy` for a few thousand
    /// packages prints about a megabyte.
    static let maxCapturedBytes = 32 * 1024 * 1024

    var environment: [String: String] = [:]
    var deadline: Duration
    var cancellation: CancelHandle?

    struct Result: Sendable {
        var exitCode: Int32?
        var stdout: String
        /// The end of stderr (at most 16 KiB), for error messages.
        var stderr: String
        var succeeded: Bool { exitCode == 0 }
        /// How it ended, for messages: "exit 100", "killed by a signal".
        var ending: String { exitCode.map { "exit \($0)" } ?? "killed by a signal" }
    }

    /// Runs `executable` and captures its output.
    func capture(_ executable: String, _ arguments: [String]) async throws -> Result {
        try await launch(executable, arguments, output: nil)
    }

    /// Runs `executable` with its output appended to `log` (stdout and stderr files);
    /// the result holds no stdout, and stderr's end only as the files have it.
    func run(_ executable: String, _ arguments: [String], appendingTo log: (stdout: URL, stderr: URL)) async throws -> Result {
        try await launch(executable, arguments, output: log)
    }

    private func launch(_ executable: String, _ arguments: [String], output log: (stdout: URL, stderr: URL)?) async throws -> Result {
        let extra = environment
        let pidBox = NIOLockedValueBox<pid_t?>(nil)
        let timedOut = NIOLockedValueBox(false)
        let handle = cancellation
        let onStart: @Sendable (pid_t) -> Void = { pid in
            pidBox.withLockedValue { $0 = pid }
            if let handle, !handle.started(pid: pid) { CancelHandle.killGroup(pid) }
        }
        let deadline = self.deadline
        do {
            return try await withThrowingTaskGroup(of: Result?.self) { group in
                group.addTask {
                    var env: [Environment.Key: String?] = ["LC_ALL": "C", "LANG": "C", "LANGUAGE": nil, "DEBIAN_FRONTEND": "noninteractive"]
                    for (key, value) in extra { env[Environment.Key(stringLiteral: key)] = value }
                    var options = PlatformOptions()
                    options.createSession = true
                    if let log {
                        let mode: FileDescriptor.OpenOptions = [.create, .append]
                        let out = try FileDescriptor.open(FilePath(log.stdout.path), .writeOnly, options: mode, permissions: [.ownerReadWrite])
                        let err: FileDescriptor
                        do {
                            err = try FileDescriptor.open(FilePath(log.stderr.path), .writeOnly, options: mode, permissions: [.ownerReadWrite])
                        } catch {
                            try? out.close()
                            throw error
                        }
                        let execution = try await Subprocess.run(
                            .name(executable), arguments: Arguments(arguments), environment: .inherit.updating(env), platformOptions: options,
                            input: .none, output: .fileDescriptor(out, closeAfterSpawningProcess: true), error: .fileDescriptor(err, closeAfterSpawningProcess: true)
                        ) { execution in onStart(execution.processIdentifier.value) }
                        return Result(exitCode: Self.code(execution.terminationStatus), stdout: "", stderr: "")
                    }
                    let record = try await Subprocess.run(
                        .name(executable), arguments: Arguments(arguments), environment: .inherit.updating(env), platformOptions: options,
                        input: .none, output: .string(limit: Self.maxCapturedBytes), error: .bytes(limit: Self.maxCapturedBytes)
                    )
                    let stderrBytes = record.standardError.suffix(16 * 1024)
                    return Result(exitCode: Self.code(record.terminationStatus), stdout: record.standardOutput, stderr: String(decoding: stderrBytes, as: UTF8.self))
                }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    timedOut.withLockedValue { $0 = true }
                    if let pid = pidBox.withLockedValue({ $0 }) { CancelHandle.killGroup(pid) }
                    return nil
                }
                while let next = try await group.next() {
                    if let result = next {
                        group.cancelAll()
                        if timedOut.withLockedValue({ $0 }) { throw Self.timedOut(executable, deadline) }
                        if handle?.isCancelled == true { throw PatchRunError(.cancelled, "\(executable) was stopped by a cancel") }
                        return result
                    }
                }
                throw PatchRunError(.toolFailed, "\(executable) ended without a status")
            }
        } catch let error as SubprocessError where error.code == .outputLimitExceeded {
            throw PatchRunError(.tooMuchOutput, "\(executable) printed more than \(Self.maxCapturedBytes / 1024 / 1024) MB; not read")
        } catch let error as SubprocessError where error.code == .executableNotFound {
            throw PatchRunError(.toolMissing, "\(executable) is not installed (not found in PATH)")
        }
    }

    private static func code(_ status: TerminationStatus) -> Int32? {
        if case .exited(let code) = status { return code }
        return nil
    }

    private static func timedOut(_ executable: String, _ deadline: Duration) -> PatchRunError {
        PatchRunError(.timedOut, "\(executable) did not finish within \(deadline.components.seconds) s and was stopped")
    }
}
