#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every connection is a file descriptor: the connection caps only mean something
/// if the process may open that many. The usual soft limit (1,024) is far below a
/// fleet's, so the soft limit is raised to the hard one at start.
public enum OpenFileLimit {
    /// Descriptors needed besides connections (store, logs, blobs, listeners).
    static let reserve = 256

    /// Raises the soft limit to the hard limit. Returns a warning when the result is
    /// still below what the listeners' caps need, nil otherwise.
    public static func raise(for configuration: ControllerConfiguration) -> String? {
        let needed = configuration.agentConnections.maxConnections + configuration.apiConnections.maxConnections + reserve
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        // An unlimited hard limit is not a valid soft one for descriptors; try a large finite value too.
        for target in [limit.rlim_max, min(limit.rlim_max, 1 << 20)] where limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 {
                limit = raised
                break
            }
        }
        guard limit.rlim_cur < rlim_t(needed) else { return nil }
        return "the open-file limit is \(limit.rlim_cur), below the \(needed) the connection caps need (--agent-max-connections + --api-max-connections + \(reserve)); raise it (e.g. LimitNOFILE= in the systemd unit) or lower the caps"
    }
}
