#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire

/// Runs the steps of one action (`aws:runShellScript`, a patch run, a deployment
/// hook). `StepRunners` picks the runner by the step's action name, and the
/// executor applies the document's rules (`StepVerdict`) to whatever it reports, so
/// a runner only says how its step ended: adding an action is one type that
/// conforms to this and its registration.
///
/// A runner that throws (inputs it cannot use, a working directory that does not
/// exist) ends its step `runnerFailed` with the error's message in stderr; the
/// document's rules then decide as for any failure.
public protocol StepRunner: Sendable {
    func run(_ step: ResolvedStep, in context: StepContext) async throws -> StepRun
}

/// What a runner gets besides the step: where to work and write, the environment,
/// and the cancel.
public struct StepContext: Sendable {
    /// The step's position in the document.
    public var index: Int
    /// A private directory for this step's files, created on first use by the runner.
    public var workDirectory: URL
    /// The invocation's output files, shared by its steps: append, never truncate.
    /// Output written here can be read (as progress) while the step runs.
    public var stdoutFile: URL
    public var stderrFile: URL
    /// Variables the step's processes get (the invocation's and instance's ids).
    public var environment: [String: String]
    /// The controller's cancel: a runner that starts a process registers it here.
    public var cancellation: CancelHandle

    public init(index: Int, workDirectory: URL, stdoutFile: URL, stderrFile: URL, environment: [String: String], cancellation: CancelHandle) {
        self.index = index
        self.workDirectory = workDirectory
        self.stdoutFile = stdoutFile
        self.stderrFile = stderrFile
        self.environment = environment
        self.cancellation = cancellation
    }

    /// Adds a line about the step to the invocation's stderr (why it failed).
    public func note(_ text: String, step: ResolvedStep) throws {
        try SpoolFileIO.append(Data("step '\(step.name)': \(text)\n".utf8), to: stderrFile)
    }
}

/// How a step ended, and its structured result if its action has one.
public struct StepRun: Sendable, Equatable {
    public var ending: StepEnding
    /// Reported as a `StepPayload` named after the step.
    public var payload: Payload?

    public struct Payload: Sendable, Equatable {
        public var kind: String
        public var body: DocumentValue

        public init(kind: String, body: DocumentValue) {
            self.kind = kind
            self.body = body
        }
    }

    /// With `.exited(194)`: after the reboot, run this step again rather than the next
    /// one. For a runner that must look at the system once it is back (a patch run
    /// reporting what the reboot settled); it tells the second run from the first by
    /// what it left in its work directory, so nothing is done twice.
    public var repeatAfterReboot: Bool

    public init(ending: StepEnding, payload: Payload? = nil, repeatAfterReboot: Bool = false) {
        self.repeatAfterReboot = repeatAfterReboot
        self.ending = ending
        self.payload = payload
    }
}
