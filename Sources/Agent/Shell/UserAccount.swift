#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire

#if canImport(Glibc)
import Glibc
#endif

/// A local account a step runs as (`runAsUser`), with what a login would give it:
/// its uid, primary gid and supplementary groups (as `initgroups` sets them), and the
/// few environment variables that say who and where it is. A step run as another
/// user gets only this, never the agent's own groups or environment (which may hold
/// secrets and root's `HOME`).
///
/// Looked up with the re-entrant `getpwnam_r` and `getgrouplist`, so steps starting
/// at once on several threads cannot see each other's answers.
public struct UserAccount: Sendable, Equatable {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t
    /// Every group the user is in, the primary one included, as `getgrouplist` lists them.
    public var groups: [gid_t]
    public var home: String
    public var shell: String

    /// The `PATH` a step run as another user gets: the agent's own may point at
    /// directories that user could write to, or that only make sense for root.
    public static let safePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    /// The most groups a user may be in (Linux's `NGROUPS_MAX`; `setgroups` refuses more).
    public static let maxGroups = 65_536
    /// The most memory one password-database entry may need.
    static let maxEntryBuffer = 1 << 20

    public init(name: String, uid: uid_t, gid: gid_t, groups: [gid_t], home: String, shell: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
        self.shell = shell
    }

    /// The account named `name` on this host.
    /// - Throws: `TenderError` (`NotFound`) when there is no such user, or
    ///   (`InternalError`) when the user or group database cannot be read.
    public static func lookUp(_ name: String) throws -> UserAccount {
        guard !name.isEmpty, !name.utf8.contains(0) else {
            throw TenderError.validation("runAsUser '\(name)' is not a valid user name")
        }
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var size = max(16 * 1024, sysconf(Int32(_SC_GETPW_R_SIZE_MAX)))
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let status = getpwnam_r(name, &entry, &buffer, buffer.count, &found)
            if status == ERANGE, size < maxEntryBuffer {
                size = min(size * 2, maxEntryBuffer)
                continue
            }
            guard status == 0 else {
                throw TenderError(.internalError, "cannot look up user '\(name)': \(String(cString: strerror(status)))")
            }
            guard found != nil else {
                throw TenderError.notFound("user '\(name)' does not exist on this host")
            }
            // The strings live in `buffer`: copy them out before it goes.
            let home = entry.pw_dir.map { String(cString: $0) } ?? ""
            let shell = entry.pw_shell.map { String(cString: $0) } ?? ""
            return UserAccount(
                name: name, uid: entry.pw_uid, gid: entry.pw_gid,
                groups: try groups(of: name, primary: entry.pw_gid),
                // passwd(5): an empty home is `/`, an empty shell is `/bin/sh`.
                home: home.isEmpty ? "/" : home, shell: shell.isEmpty ? "/bin/sh" : shell)
        }
    }

    /// The user's groups, primary first, as `initgroups` would set them; at most `maxGroups`.
    static func groups(of name: String, primary: gid_t) throws -> [gid_t] {
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var got = count
            if getgrouplist(name, primary, &groups, &got) >= 0 {
                return Array(groups.prefix(Int(max(0, got))))
            }
            // Too small: `got` now says how many there are.
            guard got > count else {
                throw TenderError(.internalError, "cannot list the groups of user '\(name)'")
            }
            guard got <= Int32(maxGroups) else {
                throw TenderError(.internalError, "user '\(name)' is in \(got) groups, more than the \(maxGroups) a process can have")
            }
            count = got
        }
    }

    /// A step's whole environment when run as this user: `PATH`, `HOME`, `USER`,
    /// `LOGNAME` and `SHELL`, then `extra` (what the agent and the document set).
    public func environment(adding extra: [String: String]) -> [String: String] {
        var environment = ["PATH": Self.safePath, "HOME": home, "USER": name, "LOGNAME": name, "SHELL": shell]
        environment.merge(extra) { _, new in new }
        return environment
    }

    /// Where a step run as this user starts when the document names no directory:
    /// the user's home, if there is one.
    public var defaultWorkingDirectory: String? {
        FileStatus.isDirectory(home) ? home : nil
    }
}
