import TenderWire
/// One entry of a document's `mainSteps`, as written (before interpolation).
public struct DocumentStep: Sendable, Equatable {
    /// The action as written (`aws:runShellScript`); always one the parser's
    /// `StepActionCatalog` holds.
    public internal(set) var action: String
    /// How its inputs are checked, from the catalog it was parsed with.
    public internal(set) var inputsRule: StepActionCatalog.InputsRule
    /// Unique within the document; results are reported per step under this name.
    public internal(set) var name: String
    /// An object; strings may hold `{{ parameter }}` references.
    public internal(set) var inputs: DocumentValue
    public internal(set) var precondition: StepPrecondition?
    public internal(set) var onFailure: StepOnFailure?
    public internal(set) var onSuccess: StepOnSuccess?
    /// Runs even after an earlier step exited the document.
    public internal(set) var finallyStep: Bool

    /// What a built-in action does; aliases (`aws:` and `tender:` shell scripts) map
    /// to one kind. Nil for an action registered by a caller.
    public var kind: StepAction? { StepAction(action) }
}
