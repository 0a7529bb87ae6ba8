#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire

/// Runs the resolved steps of one invocation in order, each by the runner of its
/// action (`StepRunners`). What each step's ending means (fail, stop, end the
/// invocation) is `StepVerdict`'s rule, the same for every action and every way a
/// step can end; after a stop only a `finallyStep` still runs.
public struct InvocationExecutor: Sendable {
    public struct StepResult: Sendable, Equatable, Codable {
        public var name: String
        /// `Success`, `Failed`, `TimedOut`, `Cancelled` or `Skipped`.
        public var status: String
        public var responseCode: Int?
    }

    public struct Outcome: Sendable, Equatable, Codable {
        public var status: InvocationStatus
        public var statusDetails: String
        public var responseCode: Int
        /// Inline output, cut to the limits.
        public var stdout: String
        public var stderr: String
        /// The whole output of every step, in order, for the controller to store.
        public var fullStdoutFile: String
        public var fullStderrFile: String
        public var steps: [StepResult]
        /// Set when a step exited 194 ("reboot, then continue"): the step to continue at.
        public var rebootThenContinueAt: Int?
        /// The structured results of the steps that reported one, in step order
        /// (across a reboot too), within `StepPayload`'s limits.
        public var payloads: [StepPayload] = []
    }

    /// The exit code with which a script asks for a reboot before the next step.
    public static let rebootExitCode: Int32 = 194

    /// Who runs each action; a step whose action is not here ends `unsupportedAction`.
    public var runners = StepRunners.standard
    /// The platform the agent runs on, checked against preconditions.
    public var platformType = "Linux"

    public init() {}

    /// - Parameter startAt: the first step to run (after a reboot a script asked for);
    ///   the output files of the earlier steps are kept and appended to.
    public func run(_ steps: [ResolvedStep], workDirectory: URL, environment: [String: String] = [:], startAt: Int = 0, handle: CancelHandle = .init()) async throws -> Outcome {
        try SecureFile.makeDirectory(workDirectory, mode: 0o700)
        let (fullStdout, fullStderr) = Self.outputFiles(in: workDirectory)
        for file in [fullStdout, fullStderr] where startAt == 0 || !FileManager.default.fileExists(atPath: file.path) {
            guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw TenderError(.internalError, "cannot create \(file.path)")
            }
        }

        var results: [StepResult] = []
        var failed = false
        var ending: (status: InvocationStatus, details: String)?
        var responseCode = 0
        var stop = false
        var rebootAt: Int?
        // Payloads of the steps before a reboot were saved with the work directory.
        var payloads = startAt > 0 ? Self.savedPayloads(in: workDirectory) : []

        /// Applies the one rule (`StepVerdict`) to a step's ending.
        func record(_ step: ResolvedStep, _ stepEnding: StepEnding) {
            let verdict = StepVerdict.of(stepEnding, onFailure: step.onFailure, onSuccess: step.onSuccess)
            results.append(StepResult(name: step.name, status: verdict.stepStatus, responseCode: verdict.stepResponseCode))
            if let code = verdict.invocationResponseCode { responseCode = code }
            if verdict.failsInvocation { failed = true }
            if verdict.stopsDocument { stop = true }
            switch verdict.invocationEnding {
            case .cancelled?: ending = (.cancelled, StatusDetails.cancelled)
            case .timedOut?: ending = ending ?? (.timedOut, StatusDetails.executionTimedOut)
            default: break
            }
        }

        for (index, step) in steps.enumerated() where index >= startAt {
            if rebootAt != nil { break }
            if stop && !step.finallyStep {
                results.append(StepResult(name: step.name, status: "Skipped", responseCode: nil))
                continue
            }
            if let precondition = step.precondition, !precondition.holds(platformType: platformType) {
                record(step, .preconditionFalse)
                continue
            }
            let context = StepContext(index: index, workDirectory: workDirectory.appendingPathComponent("step-\(index)"),
                                      stdoutFile: fullStdout, stderrFile: fullStderr, environment: environment, cancellation: handle)
            guard let runner = runners.runner(for: step.action) else {
                // A document from a newer controller; say so plainly.
                try context.note("action \(step.action) is not supported by this agent", step: step)
                record(step, .unsupportedAction)
                continue
            }
            var run: StepRun
            do {
                run = try await runner.run(step, in: context)
            } catch {
                // A step that cannot run is a failed step: the document's rules decide what follows.
                try context.note((error as? TenderError)?.message ?? "\(error)", step: step)
                record(step, handle.isCancelled ? .cancelled : .runnerFailed)
                continue
            }
            if let payload = run.payload {
                let reported = StepPayload(step: step.name, kind: payload.kind, body: payload.body)
                if let problem = StepPayload.problem(with: payloads + [reported]) {
                    try context.note("its result was not reported: \(problem)", step: step)
                    if run.ending != .timedOut, run.ending != .cancelled { run.ending = .runnerFailed }
                } else {
                    payloads.append(reported)
                    try Self.savePayloads(payloads, in: workDirectory)
                }
            }
            switch run.ending {
            case .exited(Self.rebootExitCode) where !stop:
                // "Reboot, then continue": not an ending the document rules decide on.
                results.append(StepResult(name: step.name, status: "Success", responseCode: Int(Self.rebootExitCode)))
                responseCode = Int(Self.rebootExitCode)
                rebootAt = run.repeatAfterReboot ? index : index + 1
            default:
                record(step, run.ending)
            }
        }

        let (status, details) = ending ?? (failed ? (.failed, StatusDetails.failed) : (.success, StatusDetails.success))
        let stdout = OutputLimits.inline(Self.readText(fullStdout, limit: OutputLimits.inlineStdout + 1), limit: OutputLimits.inlineStdout).text
        let stderr = OutputLimits.inline(Self.readText(fullStderr, limit: OutputLimits.inlineStderr + 1), limit: OutputLimits.inlineStderr).text
        return Outcome(status: rebootAt == nil ? status : .inProgress, statusDetails: rebootAt == nil ? details : "Rebooting",
                       responseCode: responseCode, stdout: stdout, stderr: stderr,
                       fullStdoutFile: fullStdout.path, fullStderrFile: fullStderr.path, steps: results, rebootThenContinueAt: rebootAt,
                       payloads: payloads)
    }

    /// The payloads so far, kept next to the output so that they survive a reboot
    /// a later step asks for.
    private static func savePayloads(_ payloads: [StepPayload], in workDirectory: URL) throws {
        try SecureFile.write(JSONEncoder().encode(payloads), to: workDirectory.appendingPathComponent("payloads.json"), mode: 0o600)
    }

    private static func savedPayloads(in workDirectory: URL) -> [StepPayload] {
        let file = workDirectory.appendingPathComponent("payloads.json")
        guard let data = SpoolFileIO.prefix(of: file, maxBytes: StepPayload.maxTotalBytes * 2) else { return [] }
        return (try? JSONDecoder().decode([StepPayload].self, from: Data(data))) ?? []
    }

    /// Where an invocation's output accumulates, readable while it runs.
    public static func outputFiles(in workDirectory: URL) -> (stdout: URL, stderr: URL) {
        (workDirectory.appendingPathComponent("stdout.all"), workDirectory.appendingPathComponent("stderr.all"))
    }

    /// The inline output so far, as it will be reported (cut to the limits).
    public static func inlineOutput(in workDirectory: URL) -> (stdout: String, stderr: String) {
        let (out, err) = outputFiles(in: workDirectory)
        return (OutputLimits.inline(readText(out, limit: OutputLimits.inlineStdout + 1), limit: OutputLimits.inlineStdout).text,
                OutputLimits.inline(readText(err, limit: OutputLimits.inlineStderr + 1), limit: OutputLimits.inlineStderr).text)
    }

    /// At most `limit` characters from the start of the file (reading 4 bytes per
    /// character at most), decoded leniently: output need not be UTF-8.
    static func readText(_ url: URL, limit: Int) -> String {
        guard let bytes = SpoolFileIO.prefix(of: url, maxBytes: limit * 4) else { return "" }
        return String(String(decoding: bytes, as: UTF8.self).prefix(limit))
    }
}
