/// The status of one command on one instance, as in SSM.
public enum InvocationStatus: String, Codable, Sendable, CaseIterable {
    case pending = "Pending"
    case inProgress = "InProgress"
    case delayed = "Delayed"
    case success = "Success"
    case failed = "Failed"
    case timedOut = "TimedOut"
    case cancelling = "Cancelling"
    case cancelled = "Cancelled"

    public var isTerminal: Bool {
        switch self {
        case .success, .failed, .timedOut, .cancelled: return true
        case .pending, .inProgress, .delayed, .cancelling: return false
        }
    }
}

/// The status of a whole command, aggregated from its invocations.
public enum CommandStatus: String, Codable, Sendable, CaseIterable {
    case pending = "Pending"
    case inProgress = "InProgress"
    case success = "Success"
    case failed = "Failed"
    case timedOut = "TimedOut"
    case cancelling = "Cancelling"
    case cancelled = "Cancelled"

    public var isTerminal: Bool {
        switch self {
        case .success, .failed, .timedOut, .cancelled: return true
        case .pending, .inProgress, .cancelling: return false
        }
    }
}

/// The detail strings SSM shows next to a status; scripts match on them.
public enum StatusDetails {
    public static let pending = "Pending"
    public static let inProgress = "InProgress"
    public static let delayed = "Delayed"
    public static let success = "Success"
    public static let failed = "Failed"
    public static let executionTimedOut = "Execution Timed Out"
    public static let deliveryTimedOut = "Delivery Timed Out"
    public static let cancelled = "Cancelled"
    public static let terminated = "Terminated"
    public static let undeliverable = "Undeliverable"
    public static let incomplete = "Incomplete"
}
