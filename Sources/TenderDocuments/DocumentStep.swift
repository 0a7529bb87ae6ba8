import TenderWire
/// One entry of a document's `mainSteps`, as written (before interpolation).
public struct DocumentStep: Sendable, Equatable {
    /// The action as written (`aws:runShellScript`); always one `StepAction` knows.
    public internal(set) var action: String
    /// Unique within the document; results are reported per step under this name.
    public internal(set) var name: String
    /// An object; strings may hold `{{ parameter }}` references.
    public internal(set) var inputs: DocumentValue
    public internal(set) var precondition: StepPrecondition?
    public internal(set) var onFailure: StepOnFailure?
    public internal(set) var onSuccess: StepOnSuccess?
    /// Runs even after an earlier step exited the document.
    public internal(set) var finallyStep: Bool

    /// What the action does; aliases (`aws:` and `tender:` shell scripts) map to one kind.
    /// The parser only accepts known actions, so this is never nil for a parsed document.
    public var kind: StepAction? { StepAction(action) }
}
