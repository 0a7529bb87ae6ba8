import TenderWire

/// The step actions a document may use, and how the controller checks each one's
/// inputs. The agent has the matching list of runners (`StepRunners`); an action
/// is added to Tender by registering it on both sides.
public struct StepActionCatalog: Sendable, Equatable {
    /// How the controller checks an action's inputs before they go to an agent.
    public enum InputsRule: Sendable, Equatable {
        /// `RunShellScriptInputs`: checked as written and again with real values,
        /// then sent in normal form.
        case shellScript
        /// Any object, sent as it is once parameters are filled in; the agent's
        /// runner checks it and fails the step, naming the problem, if it cannot use it.
        case passThrough
    }

    private var rules: [String: InputsRule] = [:]

    /// No actions at all.
    public init() {}

    /// Every action this version of Tender runs.
    public static var standard: StepActionCatalog {
        var catalog = StepActionCatalog()
        for (name, action) in StepAction.actionNames {
            switch action {
            case .runShellScript: catalog.register(name, inputs: .shellScript)
            case .runPatchBaseline: catalog.register(name, inputs: .passThrough)
            }
        }
        return catalog
    }

    /// Adds (or replaces) an action.
    public mutating func register(_ action: String, inputs: InputsRule) {
        rules[action] = inputs
    }

    /// How `action`'s inputs are checked; nil for an action not in the catalog.
    public func inputsRule(of action: String) -> InputsRule? { rules[action] }

    /// The action names, sorted (for messages).
    public var actions: [String] { rules.keys.sorted() }
}
