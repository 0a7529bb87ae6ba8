import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Lets another task cancel a running invocation (the controller's cancel). A step
/// runner that starts a process group registers it, and a cancel kills the group;
/// a cancel that comes before the process exists takes effect when it registers.
public final class CancelHandle: Sendable {
    private let state = NIOLockedValueBox<(pid: pid_t?, cancelled: Bool)>((nil, false))

    public init() {}

    /// Records the process group now running; false if already cancelled (the
    /// caller then kills it at once).
    public func started(pid: pid_t) -> Bool {
        state.withLockedValue { state in
            state.pid = pid
            return !state.cancelled
        }
    }

    public func cancel() {
        let pid = state.withLockedValue { state -> pid_t? in
            state.cancelled = true
            return state.pid
        }
        if let pid { Self.killGroup(pid) }
    }

    public var isCancelled: Bool { state.withLockedValue { $0.cancelled } }

    /// SIGKILL to the whole process group (a step's process runs as a session
    /// leader, so its process group id is its pid).
    public static func killGroup(_ pid: pid_t) {
        _ = kill(-pid, SIGKILL)
    }
}
