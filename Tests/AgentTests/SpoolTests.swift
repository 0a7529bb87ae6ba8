import Foundation
import Testing
@testable import Agent
@testable import TenderWire

@Suite("Spool")
struct SpoolTests {
    struct Work: Codable, Equatable, Sendable { var script: String }
    struct Result: Codable, Equatable, Sendable { var exitCode: Int }

    func withSpool(_ body: (Spool<Work, Result>, URL) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-spool-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(try Spool<Work, Result>(directory: dir), dir)
    }

    @Test func acceptsOnceAndRecognisesDuplicatesInEveryState() throws {
        try withSpool { spool, _ in
            #expect(try spool.accept(id: "inv-1", item: Work(script: "echo hi")) == .accepted)
            #expect(try spool.accept(id: "inv-1", item: Work(script: "echo hi")) == .duplicate)
            #expect(spool.state(of: "inv-1") == .waiting)
            try spool.markStarted(id: "inv-1")
            #expect(try spool.accept(id: "inv-1", item: Work(script: "x")) == .duplicate)
            #expect(spool.state(of: "inv-1") == .running)
            try spool.recordOutcome(id: "inv-1", Result(exitCode: 0))
            #expect(try spool.accept(id: "inv-1", item: Work(script: "x")) == .duplicate)
            #expect(spool.state(of: "inv-1") == .finished)
            try spool.confirm(id: "inv-1")
            #expect(try spool.accept(id: "inv-1", item: Work(script: "x")) == .duplicate, "a redelivery after confirmation must not run again")
            #expect(spool.state(of: "inv-1") == .confirmed)
        }
    }

    @Test func outcomesStayUntilConfirmed() throws {
        try withSpool { spool, _ in
            for (i, id) in ["a", "b", "c"].enumerated() {
                _ = try spool.accept(id: id, item: Work(script: id))
                try spool.markStarted(id: id)
                try spool.recordOutcome(id: id, Result(exitCode: i))
            }
            #expect(try Set(spool.unconfirmedOutcomes().map(\.id)) == ["a", "b", "c"])
            try spool.confirm(id: "b")
            let left = try spool.unconfirmedOutcomes()
            #expect(Set(left.map(\.id)) == ["a", "c"])
            #expect(left.first { $0.id == "c" }?.outcome == Result(exitCode: 2))
        }
    }

    @Test func recoveryAfterACrashNeverReruns() throws {
        try withSpool { spool, dir in
            _ = try spool.accept(id: "waiting", item: Work(script: "w"))
            _ = try spool.accept(id: "cut-short", item: Work(script: "c"))
            try spool.markStarted(id: "cut-short")
            _ = try spool.accept(id: "finished", item: Work(script: "f"))
            try spool.markStarted(id: "finished")
            try spool.recordOutcome(id: "finished", Result(exitCode: 0))

            // A new process opens the same directory.
            let reopened = try Spool<Work, Result>(directory: dir)
            let recovery = try reopened.recover()
            #expect(recovery.toRun.map(\.id) == ["waiting"])
            #expect(recovery.interrupted.map(\.id) == ["cut-short"])
            #expect(recovery.interrupted.first?.item == Work(script: "c"))
            #expect(try reopened.unconfirmedOutcomes().map(\.id) == ["finished"])
        }
    }

    @Test func corruptItemsAreSetAsideNotFatal() throws {
        try withSpool { spool, dir in
            try Data("{not json".utf8).write(to: dir.appendingPathComponent("inbox/broken.json"))
            _ = try spool.accept(id: "good", item: Work(script: "g"))
            let recovery = try spool.recover()
            #expect(recovery.toRun.map(\.id) == ["good"])
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("inbox/broken.json.corrupt").path))
        }
    }

    @Test(arguments: ["", "../etc/passwd", "a/b", ".hidden", String(repeating: "x", count: 129), "ünïcode", "sp ace"])
    func hostileIDsAreRejected(_ id: String) throws {
        try withSpool { spool, _ in
            #expect(throws: TenderError.self) { try spool.accept(id: id, item: Work(script: "x")) }
        }
    }

    @Test func oldTombstonesArePruned() throws {
        try withSpool { spool, dir in
            _ = try spool.accept(id: "old", item: Work(script: "o"))
            try spool.confirm(id: "old")
            _ = try spool.accept(id: "new", item: Work(script: "n"))
            try spool.confirm(id: "new")
            let tombstone = dir.appendingPathComponent("done/old")
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-8 * 86400)], ofItemAtPath: tombstone.path)
            try spool.pruneTombstones()
            #expect(spool.state(of: "old") == nil)
            #expect(spool.state(of: "new") == .confirmed)
        }
    }

    /// The production lifetime (docs/run-command.md: "Tombstones live 7 days"): a spool
    /// made without a lifetime, as the agent's worker makes it.
    @Test("tombstones live 7 days by default: one just under 7 days old stays, one just over is pruned")
    func tombstonesLiveSevenDaysByDefault() throws {
        try withSpool { spool, dir in
            let now = Date()
            let week: TimeInterval = 7 * 86400
            for (id, age) in [("young", week - 60), ("old", week + 60)] {
                _ = try spool.accept(id: id, item: Work(script: id))
                try spool.confirm(id: id)
                try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-age)], ofItemAtPath: dir.appendingPathComponent("done/\(id)").path)
            }
            try spool.pruneTombstones(now: now)
            #expect(spool.state(of: "young") == .confirmed, "a tombstone under 7 days old still stops a redelivery")
            #expect(spool.state(of: "old") == nil, "a tombstone over 7 days old is pruned")
        }
    }

    @Test func filesArePrivate() throws {
        try withSpool { spool, dir in
            _ = try spool.accept(id: "secret", item: Work(script: "echo $TOKEN"))
            let mode = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("inbox/secret.json").path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }
}
