import Foundation
import Logging
import Testing
@testable import Controller
import TenderWire

/// "Inline output is cut at 24,000 characters" (stdout; 8,000 for stderr), on the
/// controller: it cuts what an agent sends by the agent's own rule (`OutputLimits`),
/// so an agent that sends more is stored with exactly the first 24,000 characters
/// and the marker, and one that sends 24,000 or fewer is stored unchanged.
@Suite("InvocationReports: inline output cut at 24,000 / 8,000 characters")
struct InlineOutputCutTests {
    let base = Millis.now()
    func at(_ seconds: Double) -> Date { Millis.date(base + Int((seconds * 1000).rounded())) }
    func instance(_ i: Int) -> String { String(format: "mi-%017x", i + 1) }
    static let marker = OutputLimits.truncationMarker

    static let logger: Logger = {
        var logger = Logger(label: "tender.tests.inline")
        logger.logLevel = .critical
        return logger
    }()

    /// Reports over a migrated SQLite store, with one command on `targets` instances,
    /// each sent and started; everything removed afterwards.
    func withReports(targets: Int, _ body: (SQLStore, InvocationReports, String) async throws -> Void) async throws {
        try await ReportsFixture(base: base, logger: Self.logger).withReports(targets: targets, body)
    }

    func result(_ commandID: String, _ instanceID: String, stdout: String, stderr: String) -> InvocationResult {
        // No sizes: the inline text is the whole output, as an agent reports a small run.
        InvocationResult(invocationId: RunInvocation.id(commandID: commandID, instanceID: instanceID), status: .success,
                         statusDetails: StatusDetails.success, responseCode: 0, stdout: stdout, stderr: stderr,
                         startedAt: at(1), endedAt: at(2))
    }

    /// `count` characters: `a` up to the stdout limit, `b` after it, so a cut in the
    /// wrong place shows.
    static func text(_ count: Int, limit: Int) -> String {
        String(repeating: "a", count: min(count, limit)) + String(repeating: "b", count: max(0, count - limit))
    }

    @Test("the limits are 24,000 and 8,000 characters")
    func limits() {
        #expect(OutputLimits.inlineStdout == 24_000)
        #expect(OutputLimits.inlineStderr == 8_000)
    }

    @Test("a result's inline stdout and stderr: more is cut to exactly the limit and the marker, the limit or less is kept unchanged")
    func resultIsCut() async throws {
        // (stdout characters sent, stderr characters sent)
        let cases = [(30_000, 10_000), (24_001, 8_001), (24_000, 8_000), (23_999, 7_999), (5, 0), (100_000, 100_000)]
        try await withReports(targets: cases.count) { store, reports, id in
            for (i, (out, err)) in cases.enumerated() {
                let stdout = Self.text(out, limit: 24_000)
                let stderr = Self.text(err, limit: 8_000)
                #expect(await reports.result(result(id, instance(i), stdout: stdout, stderr: stderr), instanceID: instance(i)) == .stored)
                let stored = try #require(try await store.invocation(commandID: id, instanceID: instance(i)))
                #expect(stored.status == .success)
                let expectedOut = out > 24_000 ? String(repeating: "a", count: 24_000) + Self.marker : stdout
                let expectedErr = err > 8_000 ? String(repeating: "a", count: 8_000) + Self.marker : stderr
                #expect(stored.stdout == expectedOut, "stdout of \(out) characters stored as \(stored.stdout.count)")
                #expect(stored.stderr == expectedErr, "stderr of \(err) characters stored as \(stored.stderr.count)")
            }
        }
    }

    @Test("text the agent already cut (the first 24,000 / 8,000 characters and the marker) is stored as it came")
    func agentCutTextIsKept() async throws {
        try await withReports(targets: 1) { store, reports, id in
            let stdout = String(repeating: "x", count: 24_000) + Self.marker
            let stderr = String(repeating: "y", count: 8_000) + Self.marker
            #expect(await reports.result(result(id, instance(0), stdout: stdout, stderr: stderr), instanceID: instance(0)) == .stored)
            let stored = try #require(try await store.invocation(commandID: id, instanceID: instance(0)))
            #expect(stored.stdout == stdout)
            #expect(stored.stderr == stderr)
        }
    }

    @Test("progress of a running invocation is cut the same way")
    func progressIsCut() async throws {
        try await withReports(targets: 2) { store, reports, id in
            let invocationID = RunInvocation.id(commandID: id, instanceID: instance(0))
            await reports.progress(InvocationProgress(invocationId: invocationID, stdout: Self.text(30_000, limit: 24_000), stderr: Self.text(9_000, limit: 8_000)),
                                   instanceID: instance(0), now: at(2))
            let cut = try #require(try await store.invocation(commandID: id, instanceID: instance(0)))
            #expect(cut.stdout == String(repeating: "a", count: 24_000) + Self.marker, "stored \(cut.stdout.count) characters")
            #expect(cut.stderr == String(repeating: "a", count: 8_000) + Self.marker, "stored \(cut.stderr.count) characters")

            let small = Self.text(24_000, limit: 24_000)
            await reports.progress(InvocationProgress(invocationId: RunInvocation.id(commandID: id, instanceID: instance(1)), stdout: small, stderr: "e"),
                                   instanceID: instance(1), now: at(2))
            let kept = try #require(try await store.invocation(commandID: id, instanceID: instance(1)))
            #expect(kept.stdout == small)
            #expect(kept.stderr == "e")
        }
    }
}
