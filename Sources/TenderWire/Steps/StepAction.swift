/// What a step does, whichever spelling of the action named it.
public enum StepAction: Sendable, CaseIterable {
    case runShellScript
    case runPatchBaseline

    /// The accepted action names. `aws:runShellScript` is kept so that documents
    /// written for SSM run unchanged.
    public static let actionNames: [String: StepAction] = [
        "aws:runShellScript": .runShellScript,
        "tender:runShellScript": .runShellScript,
        "tender:runPatchBaseline": .runPatchBaseline,
    ]

    /// Nil for an action this version does not know.
    public init?(_ action: String) {
        guard let kind = Self.actionNames[action] else { return nil }
        self = kind
    }
}
