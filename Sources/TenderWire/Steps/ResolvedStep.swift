/// A step with its parameters filled in: what the controller sends and the agent runs.
///
/// The agent never sees parameters or `{{ }}` references; it gets finished inputs,
/// so it needs no document logic and cannot be steered by a value that looks
/// like a reference. Shell-script inputs are normalised (see `RunShellScriptInputs`).
public struct ResolvedStep: Sendable, Equatable, Codable {
    public var action: String
    public var name: String
    public var inputs: DocumentValue
    public var precondition: StepPrecondition?
    public var onFailure: StepOnFailure?
    public var onSuccess: StepOnSuccess?
    public var finallyStep: Bool

    public init(
        action: String, name: String, inputs: DocumentValue, precondition: StepPrecondition? = nil,
        onFailure: StepOnFailure? = nil, onSuccess: StepOnSuccess? = nil, finallyStep: Bool = false
    ) {
        self.action = action
        self.name = name
        self.inputs = inputs
        self.precondition = precondition
        self.onFailure = onFailure
        self.onSuccess = onSuccess
        self.finallyStep = finallyStep
    }

    /// Nil when a newer controller sent an action this agent does not know.
    public var kind: StepAction? { StepAction(action) }

    /// The inputs of a shell-script step, typed; throws a `ValidationError` if they are
    /// not valid ones (a step that came from somewhere other than `resolvedSteps`).
    public func shellScriptInputs() throws -> RunShellScriptInputs {
        try RunShellScriptInputs(inputs)
    }
}
