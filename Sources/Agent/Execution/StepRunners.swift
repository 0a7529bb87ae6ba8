/// The runners this agent has, by action name. The executor looks each step's
/// action up here; a step whose action has no runner ends `unsupportedAction`
/// (a document sent by a newer controller).
public struct StepRunners: Sendable {
    private var byAction: [String: any StepRunner] = [:]

    /// No runners at all.
    public init() {}

    /// What `tender-agent` runs: shell scripts under both their spellings, and patch
    /// runs on the running system.
    public static var standard: StepRunners { standard(packageRoot: "/") }

    /// The standard runners, with patch runs acting on `packageRoot` (an image or a
    /// test sandbox; `tender-agent run --package-root`).
    public static func standard(packageRoot: String) -> StepRunners {
        var runners = StepRunners()
        runners.register(ShellScriptRunner(), for: ShellScriptRunner.actions)
        runners.register(PatchBaselineRunner(packageRoot: packageRoot), for: [PatchBaselineRunner.action])
        return runners
    }

    /// Adds (or replaces) the runner of each of `actions`.
    public mutating func register(_ runner: any StepRunner, for actions: [String]) {
        for action in actions { byAction[action] = runner }
    }

    public func runner(for action: String) -> (any StepRunner)? {
        byAction[action]
    }

    /// The action names with a runner, sorted.
    public var actions: [String] { byAction.keys.sorted() }
}
