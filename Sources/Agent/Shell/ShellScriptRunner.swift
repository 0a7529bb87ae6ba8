import TenderWire

/// Runs `aws:runShellScript` (`tender:runShellScript`) steps: reads the step's inputs,
/// finds the `runAsUser` account, and runs the script (`ScriptProcess`) with the
/// invocation's output files and cancel. Exit code 194 is reported as an exit like
/// any other; the executor treats it as "reboot, then continue".
public struct ShellScriptRunner: StepRunner {
    /// Every spelling of the shell-script action.
    public static let actions = StepAction.actionNames.filter { $0.value == .runShellScript }.keys.sorted()

    public var process = ScriptProcess()

    public init() {}

    public func run(_ step: ResolvedStep, in context: StepContext) async throws -> StepRun {
        let inputs = try step.shellScriptInputs()
        var account: UserAccount?
        if let user = inputs.runAsUser {
            do {
                account = try UserAccount.lookUp(user)
            } catch {
                try context.note((error as? TenderError)?.message ?? "\(error)", step: step)
                return StepRun(ending: .missingUser)
            }
        }
        // Steps write straight into the invocation's output files, so progress can be read while they run.
        let outcome = try await process.run(inputs, workDirectory: context.workDirectory, environment: context.environment,
                                            account: account, handle: context.cancellation,
                                            appendingTo: (context.stdoutFile, context.stderrFile))
        switch outcome.ending {
        case .exited(let code): return StepRun(ending: .exited(code))
        case .signaled(let signal): return StepRun(ending: .signaled(signal))
        case .timedOut: return StepRun(ending: .timedOut)
        case .cancelled: return StepRun(ending: .cancelled)
        }
    }
}
