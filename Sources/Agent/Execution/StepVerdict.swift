import TenderWire

/// How one step ended, in the terms the document's rules decide on. Every action's
/// runner reports one of these, so `onFailure`/`onSuccess` mean the same for all.
public enum StepEnding: Sendable, Equatable {
    case exited(Int32)
    /// Killed by a signal the agent did not send.
    case signaled(Int32)
    case timedOut
    /// The controller's cancel.
    case cancelled
    /// This agent has no runner for the step's action.
    case unsupportedAction
    /// `runAsUser` names no user on this host.
    case missingUser
    /// The runner could not run the step or report on it (inputs it cannot use, a
    /// working directory that does not exist, a payload over the limits).
    case runnerFailed
    /// The step's precondition does not hold here.
    case preconditionFalse
}

/// What one step's ending means for its invocation: SSM's step rules, decided in one
/// place for every action and every way a step can end.
///
/// - A failure of any kind (a non-zero exit, a signal, an action this agent cannot
///   run, a missing user, a runner that could not run the step) fails the invocation and lets the document go on; with
///   `onFailure: exit` it also stops the document; with `successAndExit` it stops the
///   document and does not count against the invocation.
/// - Success stops the document only with `onSuccess: exit`.
/// - A timeout or a cancel stops the document and ends the invocation `TimedOut` /
///   `Cancelled` whatever the settings say.
/// - A step whose precondition does not hold is skipped and changes nothing.
/// The steps after a stop are skipped, except a `finallyStep` (InvocationExecutor).
public struct StepVerdict: Sendable, Equatable {
    /// The step's own status: `Success`, `Failed`, `TimedOut`, `Cancelled` or `Skipped`.
    public var stepStatus: String
    /// The step's response code as reported per step (nil when it has none).
    public var stepResponseCode: Int?
    /// The invocation's response code after this step (nil: unchanged).
    public var invocationResponseCode: Int?
    /// This step makes the invocation Failed (unless it ends TimedOut or Cancelled).
    public var failsInvocation: Bool
    /// The steps after this one are skipped (but a `finallyStep`).
    public var stopsDocument: Bool
    /// An ending for the whole invocation that outranks Success and Failed.
    public var invocationEnding: InvocationStatus?

    public static func of(_ ending: StepEnding, onFailure: StepOnFailure?, onSuccess: StepOnSuccess?) -> StepVerdict {
        func failure(stepCode: Int?, invocationCode: Int) -> StepVerdict {
            StepVerdict(stepStatus: "Failed", stepResponseCode: stepCode, invocationResponseCode: invocationCode,
                        failsInvocation: onFailure != .successAndExit, stopsDocument: onFailure != nil, invocationEnding: nil)
        }
        switch ending {
        case .exited(0):
            return StepVerdict(stepStatus: "Success", stepResponseCode: 0, invocationResponseCode: 0,
                               failsInvocation: false, stopsDocument: onSuccess == .exit, invocationEnding: nil)
        case .exited(let code):
            return failure(stepCode: Int(code), invocationCode: Int(code))
        case .signaled(let signal):
            return failure(stepCode: 128 + Int(signal), invocationCode: 128 + Int(signal))
        case .unsupportedAction, .missingUser, .runnerFailed:
            return failure(stepCode: nil, invocationCode: 1)
        case .timedOut:
            return StepVerdict(stepStatus: "TimedOut", stepResponseCode: nil, invocationResponseCode: -1,
                               failsInvocation: false, stopsDocument: true, invocationEnding: .timedOut)
        case .cancelled:
            return StepVerdict(stepStatus: "Cancelled", stepResponseCode: nil, invocationResponseCode: -1,
                               failsInvocation: false, stopsDocument: true, invocationEnding: .cancelled)
        case .preconditionFalse:
            return StepVerdict(stepStatus: "Skipped", stepResponseCode: nil, invocationResponseCode: nil,
                               failsInvocation: false, stopsDocument: false, invocationEnding: nil)
        }
    }
}
