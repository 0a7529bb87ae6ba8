#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOConcurrencyHelpers
import TenderWire
import Subprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Runs a shell script as a process: the lines go into a script file run by `sh` in
/// a session (and process group) of its own, with stdout and stderr going to files.
/// The mechanism under `ShellScriptRunner`, which decides what to run and as whom.
///
/// Files rather than pipes: output of any size costs no memory, and a background
/// child that keeps the output open cannot hang the step: the step ends when the
/// script's own process exits. On timeout or cancel the whole process group is
/// killed, so nothing the script started is left behind.
public struct ScriptProcess: Sendable {
    public struct Outcome: Sendable, Equatable {
        public enum Ending: Sendable, Equatable {
            case exited(Int32)
            /// Killed by a signal the runner did not send.
            case signaled(Int32)
            case timedOut
            case cancelled
        }

        public var ending: Ending
        public var stdoutFile: URL
        public var stderrFile: URL
        public var duration: Duration
    }

    public var shell: String = "/bin/sh"

    public init() {}

    /// - Parameters:
    ///   - workDirectory: a private directory for this step's script and output files.
    ///   - environment: added to the agent's own environment; with `account`, added
    ///     to that user's minimal one instead (`UserAccount.environment(adding:)`).
    ///   - account: run as this user, with its groups (the agent runs as root).
    public func run(
        _ inputs: RunShellScriptInputs,
        workDirectory: URL,
        environment: [String: String] = [:],
        account: UserAccount? = nil,
        handle: CancelHandle = CancelHandle(),
        appendingTo output: (stdout: URL, stderr: URL)? = nil
    ) async throws -> Outcome {
        try SecureFile.makeDirectory(workDirectory, mode: 0o700)
        // Run as another user, the script lives in a private temp dir that user owns:
        // the agent's state dir is closed to other users. Output goes to descriptors
        // the agent opened, so it needs no path the user can reach.
        let scriptDirectory = account == nil
            ? workDirectory
            : FileManager.default.temporaryDirectory.appendingPathComponent("tender-script-\(Identifiers.randomHex(12))")
        try SecureFile.makeDirectory(scriptDirectory, mode: 0o700)
        defer { if account != nil { try? FileManager.default.removeItem(at: scriptDirectory) } }
        let script = scriptDirectory.appendingPathComponent("script.sh")
        try SecureFile.write(inputs.runCommand.joined(separator: "\n") + "\n", to: script, mode: 0o700)
        // Given files are appended to (an invocation's output across its steps, readable
        // while the step runs); otherwise each step has its own.
        let stdoutFile = output?.stdout ?? workDirectory.appendingPathComponent("stdout")
        let stderrFile = output?.stderr ?? workDirectory.appendingPathComponent("stderr")
        let mode: FileDescriptor.OpenOptions = output == nil ? [.create, .truncate] : [.create, .append]
        let out = try FileDescriptor.open(FilePath(stdoutFile.path), .writeOnly, options: mode, permissions: [.ownerReadWrite])
        let err = try FileDescriptor.open(FilePath(stderrFile.path), .writeOnly, options: mode, permissions: [.ownerReadWrite])
        if let account {
            for path in [scriptDirectory.path, script.path] {
                guard chown(path, account.uid, account.gid) == 0 else {
                    try? out.close()
                    try? err.close()
                    throw TenderError(.internalError, "cannot hand the script to user \(account.name): \(String(cString: strerror(errno)))")
                }
            }
        }

        if let dir = inputs.workingDirectory {
            guard FileStatus.isDirectory(dir) else {
                try? out.close()
                try? err.close()
                throw TenderError.validation("working directory \(dir) does not exist")
            }
        }

        let identitySwitch: IdentitySwitch?
        do {
            identitySwitch = try account.map { _ in try IdentitySwitch.locate() }
        } catch {
            try? out.close()
            try? err.close()
            throw error
        }

        let started = ContinuousClock.now
        let timedOut = NIOLockedValueBox(false)
        let pidBox = NIOLockedValueBox<pid_t?>(nil)
        let result = try await withThrowingTaskGroup(of: TerminationStatus?.self) { group in
            let shell = self.shell
            // As another user, the step starts in that user's home unless told otherwise.
            let workingDirectoryPath = inputs.workingDirectory ?? account?.defaultWorkingDirectory
            group.addTask {
                var options = PlatformOptions()
                options.createSession = true
                let processEnvironment: Subprocess.Environment
                var executable = shell
                var arguments = [script.path]
                if let account, let identitySwitch {
                    // Exactly the user's groups and none of the agent's environment; the
                    // switch happens in setpriv, never in the agent's forked child.
                    (executable, arguments) = identitySwitch.launch([shell, script.path], as: account)
                    var env: [Environment.Key: String] = [:]
                    for (key, value) in account.environment(adding: environment) { env[Environment.Key(stringLiteral: key)] = value }
                    processEnvironment = .custom(env)
                } else {
                    var env: [Environment.Key: String?] = [:]
                    for (key, value) in environment { env[Environment.Key(stringLiteral: key)] = value }
                    processEnvironment = .inherit.updating(env)
                }
                let workingDirectory = workingDirectoryPath.map { FilePath($0) }
                let execution = try await Subprocess.run(
                    .path(FilePath(executable)),
                    arguments: Arguments(arguments),
                    environment: processEnvironment,
                    workingDirectory: workingDirectory,
                    platformOptions: options,
                    input: .none,
                    output: .fileDescriptor(out, closeAfterSpawningProcess: true),
                    error: .fileDescriptor(err, closeAfterSpawningProcess: true)
                ) { execution in
                    let pid = execution.processIdentifier.value
                    pidBox.withLockedValue { $0 = pid }
                    // A cancel that came before the process existed takes effect now.
                    if !handle.started(pid: pid) { CancelHandle.killGroup(pid) }
                }
                return execution.terminationStatus
            }
            group.addTask {
                try await Task.sleep(for: .seconds(inputs.timeoutSeconds))
                timedOut.withLockedValue { $0 = true }
                if let pid = pidBox.withLockedValue({ $0 }) { CancelHandle.killGroup(pid) }
                return nil
            }
            while let next = try await group.next() {
                if let status = next {
                    group.cancelAll()
                    return status
                }
            }
            throw TenderError(.internalError, "the step ended without a status")
        }
        // Whatever the script left running in its group goes too when it was stopped.
        let ending: Outcome.Ending
        if timedOut.withLockedValue({ $0 }) {
            ending = .timedOut
        } else if handle.isCancelled {
            ending = .cancelled
        } else {
            switch result {
            case .exited(let code): ending = .exited(code)
            case .signaled(let signal): ending = .signaled(signal)
            }
        }
        return Outcome(ending: ending, stdoutFile: stdoutFile, stderrFile: stderrFile, duration: .now - started)
    }
}
