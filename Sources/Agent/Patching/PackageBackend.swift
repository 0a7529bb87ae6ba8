#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderPatching

/// One package manager (apt, dnf) as a patch run uses it. Implementations drive the
/// system's own tools and only report facts; what is approved is decided by
/// `PatchEvaluator`, the same for every backend.
protocol PackageBackend: Sendable {
    /// Fetches fresh package lists; throws with the tool's message when a
    /// repository cannot be read.
    func refresh(log: PatchLog) async throws
    /// The installed packages with their updates, and whether a reboot is pending.
    func inventory() async throws -> PackageInventory
    /// Finishes an install that was interrupted (a killed agent, a power cut);
    /// says what it did in `log`. False when nothing needed repair.
    func repairInterrupted(log: PatchLog) async throws -> Bool
    /// Installs these updates (their `update` versions), never bringing in a
    /// package `blocked` names.
    func install(_ updates: [PackageFacts], blocked: [PackageSpec], log: PatchLog) async throws -> InstallOutcome
}

/// Under `BLOCK`, which updates may go in: the ones whose install brings in no
/// package the baseline blocks. The whole set is tried first; only when it would
/// bring one in is each update tried alone, and those that would are left out,
/// each with a line in stderr naming what it needs. The same rule for every backend;
/// how "would bring in" is found (a simulation, a resolution) is the backend's.
enum BlockedDependencies {
    /// - Parameter blockedBy: what installing these updates would bring in that the
    ///   baseline blocks ("name version"), empty when nothing.
    static func split(_ updates: [PackageFacts], log: PatchLog,
                      blockedBy: ([PackageFacts]) async throws -> [String]) async throws -> (kept: [PackageFacts], leftOut: [PackageFacts]) {
        guard !updates.isEmpty, try await !blockedBy(updates).isEmpty else { return (updates, []) }
        var kept: [PackageFacts] = [], leftOut: [PackageFacts] = []
        for update in updates {
            let brings = try await blockedBy([update])
            if brings.isEmpty {
                kept.append(update)
            } else {
                leftOut.append(update)
                log.warn("not installing \(update.name) \(update.update?.version ?? ""): it would bring in \(brings.joined(separator: ", ")), which the baseline blocks")
            }
        }
        return (kept, leftOut)
    }
}

/// What an install did.
struct InstallOutcome: Sendable {
    /// The updates left out because they would bring in a blocked package.
    var leftOut: [PackageFacts]
    /// The package manager said it completed (exit 0).
    var succeeded: Bool
}

/// What a backend found on the system.
struct PackageInventory: Sendable {
    var packages: [PackageFacts]
    /// The system asks for a reboot (Debian's `/run/reboot-required`, dnf's needs-restarting).
    var rebootRequired: Bool
    /// The packages that asked for it, when the system says (nil: not known).
    var rebootPackages: Set<String>?
}

/// Where a patch run writes what the operator reads: the invocation's output files.
struct PatchLog: Sendable {
    var stdout: URL
    var stderr: URL

    func say(_ line: String) {
        try? SpoolFileIO.append(Data((line + "\n").utf8), to: stdout)
    }

    func warn(_ line: String) {
        try? SpoolFileIO.append(Data((line + "\n").utf8), to: stderr)
    }
}
