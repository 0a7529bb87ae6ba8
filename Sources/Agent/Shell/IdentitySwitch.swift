#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire

/// Starts a step as another user through `setpriv` (util-linux), which sets the
/// groups, gid and uid in a fresh single-threaded process and then executes the shell.
///
/// Why not let the process launcher switch identity between fork and exec: the agent
/// is multi-threaded, and glibc's `setgroups`/`setgid`/`setuid` coordinate every
/// thread of the process (the "setxid" broadcast) under a lock. In a child cloned
/// without glibc's `fork()` bookkeeping (swift-subprocess uses `clone3` for a pidfd)
/// that lock can be held by a parent thread that does not exist in the child, and
/// the child then hangs before `exec`, with the agent waiting on it for ever. It
/// happened about once in ten test runs; `setpriv` keeps the switch out of the agent.
struct IdentitySwitch: Sendable {
    /// Where `setpriv` is looked for (it is part of util-linux on every supported distro).
    static let candidates = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv", "/sbin/setpriv"]

    let setprivPath: String

    /// The installed `setpriv`.
    /// - Throws: `TenderError` (`InternalError`) naming what to install when there is none.
    static func locate(candidates: [String] = IdentitySwitch.candidates) throws -> IdentitySwitch {
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TenderError(.internalError, "running a step as another user needs setpriv (util-linux), found in none of \(candidates.joined(separator: ", "))")
        }
        return IdentitySwitch(setprivPath: path)
    }

    /// The executable and arguments that run `command` as `account`, with exactly its
    /// groups (none of the agent's), its primary group and its uid, and no capabilities
    /// kept across the switch.
    func launch(_ command: [String], as account: UserAccount) -> (executable: String, arguments: [String]) {
        var arguments = ["--reuid=\(account.uid)", "--regid=\(account.gid)"]
        if account.groups.isEmpty {
            arguments.append("--clear-groups")
        } else {
            arguments.append("--groups=" + account.groups.map(String.init).joined(separator: ","))
        }
        arguments.append("--inh-caps=-all")
        arguments.append("--")
        arguments += command
        return (setprivPath, arguments)
    }
}
