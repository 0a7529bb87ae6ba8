/// A step's `onFailure`. SSM's `Abort` (from Automation documents) means the same
/// as `exit` here and is read as `.exit`, so there is one thing for the agent to do.
public enum StepOnFailure: String, Sendable, Codable, CaseIterable {
    /// Stop the document; it ends Failed.
    case exit
    /// Stop the document; it ends Success.
    case successAndExit
}

/// A step's `onSuccess`: `exit` stops the document after this step, successfully.
public enum StepOnSuccess: String, Sendable, Codable, CaseIterable {
    case exit
}
