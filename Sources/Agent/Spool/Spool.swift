#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire

#if canImport(Glibc)
import Glibc
#endif

/// The agent's durable record of work, so that a crash or restart of either side
/// loses nothing and runs nothing twice (docs/run-command.md, "Never lost").
///
/// Every step is a file written atomically and synced before the agent tells the
/// controller about it:
/// - `inbox/ID.json`: received work; written before the agent acknowledges it.
/// - `started/ID`: written just before the work starts. Work found started but
///   without a result after a restart was cut short: it is reported failed, never re-run.
/// - `results/ID.json`: the outcome, kept until the controller confirms it stored it.
/// - `done/ID`: a tombstone after confirmation, so a redelivered duplicate is
///   recognised and dropped; pruned after `tombstoneLifetime`.
public struct Spool<Item: Codable & Sendable, Outcome: Codable & Sendable>: Sendable {
    public enum Acceptance: Equatable, Sendable {
        /// New work, now on disk: acknowledge it and run it.
        case accepted
        /// Already received (waiting, running, finished or confirmed): acknowledge, do not run.
        case duplicate
    }

    /// What `recover()` finds after a restart.
    public struct Recovery: Sendable {
        /// Received but never started: run them.
        public var toRun: [(id: String, item: Item)]
        /// Started but without an outcome: the process died while they ran.
        public var interrupted: [(id: String, item: Item)]
    }

    public let directory: URL
    public let tombstoneLifetime: TimeInterval

    public init(directory: URL, tombstoneLifetime: TimeInterval = 7 * 86400) throws {
        self.directory = directory
        self.tombstoneLifetime = tombstoneLifetime
        for sub in ["inbox", "started", "results", "done", "resume", "output"] {
            try SecureFile.makeDirectory(directory.appendingPathComponent(sub), mode: 0o700)
        }
    }

    /// Ids become file names: only a safe alphabet, so a hostile id cannot escape the spool.
    public static func validate(id: String) throws {
        guard !id.isEmpty, id.count <= 128,
              id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }),
              !id.hasPrefix(".") else {
            throw TenderError.validation("work id '\(id.prefix(40))' is not a valid spool id")
        }
    }

    private func file(_ sub: String, _ id: String, json: Bool) -> URL {
        directory.appendingPathComponent(sub).appendingPathComponent(json ? id + ".json" : id)
    }

    private func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    /// Stores new work durably; says `duplicate` for anything seen before.
    public func accept(id: String, item: Item) throws -> Acceptance {
        try Self.validate(id: id)
        if state(of: id) != nil { return .duplicate }
        try SecureFile.write(try JSON.encoder().encode(item), to: file("inbox", id, json: true), mode: 0o600)
        return .accepted
    }

    public enum State: Equatable, Sendable {
        case waiting, running, finished, confirmed
    }

    public func state(of id: String) -> State? {
        if exists(file("done", id, json: false)) { return .confirmed }
        if exists(file("results", id, json: true)) { return .finished }
        if exists(file("started", id, json: false)) { return .running }
        if exists(file("inbox", id, json: true)) { return .waiting }
        return nil
    }

    /// Marks work as started; must be called (and return) before it runs.
    public func markStarted(id: String) throws {
        try Self.validate(id: id)
        try SecureFile.write(Data(ISOTime.format(Date()).utf8), to: file("started", id, json: false), mode: 0o600)
    }

    /// Where a finished invocation's full output waits (`stdout` or `stderr`) until
    /// the controller confirms the result.
    public func outputFile(id: String, stream: String) -> URL {
        directory.appendingPathComponent("output").appendingPathComponent("\(id).\(stream)")
    }

    /// Records that the work asked for a reboot and continues at step `nextStep`:
    /// after the restart `recover()` hands it back to run from there, instead of
    /// reporting it cut short.
    public func markResume(id: String, nextStep: Int) throws {
        try Self.validate(id: id)
        try SecureFile.write(Data(String(nextStep).utf8), to: file("resume", id, json: false), mode: 0o600)
        try? FileManager.default.removeItem(at: file("started", id, json: false))
    }

    /// The step to continue at, for work resumed after a reboot.
    public func resumeStep(of id: String) -> Int? {
        guard let data = try? Data(contentsOf: file("resume", id, json: false)) else { return nil }
        return Int(String(decoding: data, as: UTF8.self))
    }

    /// Stores the outcome durably, then drops the work item.
    public func recordOutcome(id: String, _ outcome: Outcome) throws {
        try Self.validate(id: id)
        try SecureFile.write(try JSON.encoder().encode(outcome), to: file("results", id, json: true), mode: 0o600)
        try? FileManager.default.removeItem(at: file("inbox", id, json: true))
        try? FileManager.default.removeItem(at: file("started", id, json: false))
        try? FileManager.default.removeItem(at: file("resume", id, json: false))
    }

    /// Outcomes not yet confirmed by the controller, oldest first: sent again on every connect.
    public func unconfirmedOutcomes() throws -> [(id: String, outcome: Outcome)] {
        try entries("results").map { id, url in (id, try JSON.decoder().decode(Outcome.self, from: Data(contentsOf: url))) }
    }

    /// The ids of `unconfirmedOutcomes()`, oldest first, without reading the outcomes:
    /// a sender can then hold one (possibly large) outcome in memory at a time.
    public func unconfirmedIDs() throws -> [String] {
        try entries("results").map(\.0)
    }

    /// The stored outcome of `id`, if it has one that is not yet confirmed.
    public func outcome(of id: String) throws -> Outcome? {
        try Self.validate(id: id)
        let url = file("results", id, json: true)
        guard exists(url) else { return nil }
        return try JSON.decoder().decode(Outcome.self, from: Data(contentsOf: url))
    }

    /// When `markStarted` was called for `id`, if it was and the outcome is not yet recorded.
    public func startedAt(of id: String) -> Date? {
        guard (try? Self.validate(id: id)) != nil,
              let data = try? Data(contentsOf: file("started", id, json: false)) else { return nil }
        return ISOTime.parse(String(decoding: data, as: UTF8.self))
    }

    /// The controller stored the outcome: forget it, keeping a tombstone against redelivery.
    public func confirm(id: String) throws {
        try Self.validate(id: id)
        try SecureFile.write(Data(), to: file("done", id, json: false), mode: 0o600)
        try? FileManager.default.removeItem(at: outputFile(id: id, stream: "stdout"))
        try? FileManager.default.removeItem(at: outputFile(id: id, stream: "stderr"))
        try? FileManager.default.removeItem(at: file("results", id, json: true))
        try? FileManager.default.removeItem(at: file("inbox", id, json: true))
        try? FileManager.default.removeItem(at: file("started", id, json: false))
        try? FileManager.default.removeItem(at: file("resume", id, json: false))
    }

    /// Sorts what is on disk after a start: work to run, and work a crash cut short.
    /// Unreadable items (a torn write cannot happen, but a disk can fail) are moved
    /// aside rather than blocking the agent.
    public func recover() throws -> Recovery {
        var recovery = Recovery(toRun: [], interrupted: [])
        for (id, url) in try entries("inbox") {
            if exists(file("results", id, json: true)) || exists(file("done", id, json: false)) {
                try? FileManager.default.removeItem(at: url)
                continue
            }
            guard let item = try? JSON.decoder().decode(Item.self, from: Data(contentsOf: url)) else {
                try? FileManager.default.moveItem(at: url, to: url.appendingPathExtension("corrupt"))
                continue
            }
            if exists(file("started", id, json: false)) {
                recovery.interrupted.append((id, item))
            } else {
                recovery.toRun.append((id, item))
            }
        }
        return recovery
    }

    /// Removes tombstones older than `tombstoneLifetime`.
    public func pruneTombstones(now: Date = Date()) throws {
        for (_, url) in try entries("done") {
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            if let modified = attributes?[.modificationDate] as? Date, now.timeIntervalSince(modified) > tombstoneLifetime {
                try? FileManager.default.removeItem(at: url)
            }
        }
    }

    /// (id, url) of the files in a subdirectory, oldest first.
    private func entries(_ sub: String) throws -> [(String, URL)] {
        let dir = directory.appendingPathComponent(sub)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        let named: [(String, URL, Date)] = names.compactMap { name in
            guard !name.hasPrefix("."), !name.hasSuffix(".corrupt") else { return nil }
            let url = dir.appendingPathComponent(name)
            let id = name.hasSuffix(".json") ? String(name.dropLast(5)) : name
            let date = FileStatus(path: url.path)?.modified ?? .distantPast
            return (id, url, date)
        }
        return named.sorted { ($0.2, $0.0) < ($1.2, $1.0) }.map { ($0.0, $0.1) }
    }
}
