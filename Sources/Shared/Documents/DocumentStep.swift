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

/// A step's `precondition`. Only `{"StringEquals": ["platformType", "Linux"]}` is
/// accepted: Tender manages Linux only, so any other platform would name a step
/// that can never run.
public struct StepPrecondition: Sendable, Equatable, Hashable {
    public var platformType: String

    public static let linux = StepPrecondition(platformType: "Linux")
    public static let supportedPlatformTypes = ["Linux"]

    /// Whether the step applies to an instance of `platformType`.
    public func holds(platformType: String) -> Bool { self.platformType == platformType }
}

extension StepPrecondition: Codable {
    private enum CodingKeys: String, CodingKey { case stringEquals = "StringEquals" }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let operands = try container.decode([String].self, forKey: .stringEquals)
        guard operands.count == 2, operands[0] == "platformType" else {
            throw DecodingError.dataCorruptedError(
                forKey: .stringEquals, in: container, debugDescription: "expected [\"platformType\", PLATFORM]")
        }
        platformType = operands[1]
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(["platformType", platformType], forKey: .stringEquals)
    }
}

/// A step's `onFailure`. SSM's `Abort` (from Automation documents) means the same
/// as `exit` here and is read as `.exit`, so there is one thing for the agent to do.
public enum StepOnFailure: String, Sendable, Codable, CaseIterable {
    /// Stop the document; it ends Failed.
    case exit
    /// Stop the document; it ends Success.
    case successAndExit

    /// Every spelling a document may use.
    static let spellings: [String: StepOnFailure] = ["exit": .exit, "successAndExit": .successAndExit, "Abort": .exit]
}

/// A step's `onSuccess`: `exit` stops the document after this step, successfully.
public enum StepOnSuccess: String, Sendable, Codable, CaseIterable {
    case exit
}
