#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TenderWire

/// The moves between an invocation's work directory (`<root>/<invocationId>`, its
/// scratch space while it runs) and the spool: a finished invocation's output
/// moves into the spool with its result, and the work directory goes.
struct WorkDirectories: Sendable {
    let root: URL
    let spool: Spool<RunInvocation, InvocationResult>
    let logger: Logger

    init(root: URL, spool: Spool<RunInvocation, InvocationResult>, logger: Logger) throws {
        try SecureFile.makeDirectory(root, mode: 0o700)
        self.root = root
        self.spool = spool
        self.logger = logger
    }

    func directory(of id: String) -> URL { root.appendingPathComponent(id, isDirectory: true) }

    /// Makes the result durable (it is what gets sent until confirmed) and drops the
    /// work directory: its output is now in the spool, next to the result.
    func record(_ result: InvocationResult) {
        let id = result.invocationId
        let (stdout, stderr) = InvocationExecutor.outputFiles(in: directory(of: id))
        // The output moves into the spool first: the result refers to it.
        for (file, stream) in [(stdout, "stdout"), (stderr, "stderr")] {
            let target = spool.outputFile(id: id, stream: stream)
            try? FileManager.default.removeItem(at: target)
            if FileManager.default.fileExists(atPath: file.path) {
                try? FileManager.default.moveItem(at: file, to: target)
            } else {
                _ = FileManager.default.createFile(atPath: target.path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
        }
        do {
            try spool.recordOutcome(id: id, result)
        } catch {
            // Sent anyway: the controller may still store it. After a restart the
            // start mark makes it a failed one, which the controller then ignores.
            logger.error("could not spool a result", metadata: ["invocation": "\(id)", "error": "\(error)"])
        }
        try? FileManager.default.removeItem(at: directory(of: id))
    }

    /// Work directories of invocations not running in this process are leftovers of
    /// the previous one (whose invocations are reported failed, not resumed); work
    /// waiting to continue after a reboot keeps its output so far.
    func removeStale(running: Set<String>) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for name in entries where !running.contains(name) && spool.resumeStep(of: name) == nil {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(name))
        }
    }
}
