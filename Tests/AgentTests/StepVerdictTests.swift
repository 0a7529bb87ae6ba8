import Foundation
import Testing
@testable import Agent
@testable import TenderWire

/// SSM's step rules as one table: every way a step can end, under every
/// `onFailure` and `onSuccess` setting.
@Suite("Step rules")
struct StepVerdictTests {
    /// One row: how the step ended, its settings, and what that must mean.
    struct Row: Sendable, CustomTestStringConvertible {
        var ending: StepEnding
        var onFailure: StepOnFailure?
        var onSuccess: StepOnSuccess?
        var status: String
        var fails: Bool
        var stops: Bool
        var invocationEnding: InvocationStatus?

        var testDescription: String {
            "\(ending) onFailure=\(onFailure.map { "\($0)" } ?? "-") onSuccess=\(onSuccess.map { "\($0)" } ?? "-")"
        }
    }

    /// Every ending × onFailure (none, exit, successAndExit) × onSuccess (none, exit).
    static let table: [Row] = {
        // (ending, [none, exit, successAndExit] as (status, fails, stops, ending)) — onSuccess
        // changes only a success, so each ending is listed for both onSuccess values below.
        typealias Expected = (status: String, fails: Bool, stops: Bool, ending: InvocationStatus?)
        let failure: [Expected] = [("Failed", true, false, nil), ("Failed", true, true, nil), ("Failed", false, true, nil)]
        let timedOut: Expected = ("TimedOut", false, true, .timedOut)
        let cancelled: Expected = ("Cancelled", false, true, .cancelled)
        let skipped: Expected = ("Skipped", false, false, nil)
        let cases: [(StepEnding, onSuccessNone: [Expected], onSuccessExit: [Expected])] = [
            (.exited(0), [("Success", false, false, nil), ("Success", false, false, nil), ("Success", false, false, nil)],
                         [("Success", false, true, nil), ("Success", false, true, nil), ("Success", false, true, nil)]),
            (.exited(2), failure, failure),
            (.exited(255), failure, failure),
            (.signaled(9), failure, failure),
            (.unsupportedAction, failure, failure),
            (.missingUser, failure, failure),
            (.runnerFailed, failure, failure),
            (.timedOut, [timedOut, timedOut, timedOut], [timedOut, timedOut, timedOut]),
            (.cancelled, [cancelled, cancelled, cancelled], [cancelled, cancelled, cancelled]),
            (.preconditionFalse, [skipped, skipped, skipped], [skipped, skipped, skipped]),
        ]
        let settings: [StepOnFailure?] = [nil, .exit, .successAndExit]
        var rows: [Row] = []
        for (ending, none, exit) in cases {
            for (onSuccess, expected) in [(StepOnSuccess?.none, none), (.exit, exit)] {
                for (i, onFailure) in settings.enumerated() {
                    let e = expected[i]
                    rows.append(Row(ending: ending, onFailure: onFailure, onSuccess: onSuccess, status: e.status, fails: e.fails, stops: e.stops, invocationEnding: e.ending))
                }
            }
        }
        return rows
    }()

    @Test(arguments: table)
    func verdict(_ row: Row) {
        let verdict = StepVerdict.of(row.ending, onFailure: row.onFailure, onSuccess: row.onSuccess)
        #expect(verdict.stepStatus == row.status)
        #expect(verdict.failsInvocation == row.fails)
        #expect(verdict.stopsDocument == row.stops)
        #expect(verdict.invocationEnding == row.invocationEnding)
    }

    @Test func responseCodes() {
        func codes(_ ending: StepEnding) -> (Int?, Int?) {
            let v = StepVerdict.of(ending, onFailure: nil, onSuccess: nil)
            return (v.stepResponseCode, v.invocationResponseCode)
        }
        #expect(codes(.exited(0)) == (0, 0))
        #expect(codes(.exited(3)) == (3, 3))
        #expect(codes(.signaled(15)) == (143, 143))
        #expect(codes(.unsupportedAction) == (nil, 1))
        #expect(codes(.missingUser) == (nil, 1))
        #expect(codes(.runnerFailed) == (nil, 1))
        #expect(codes(.timedOut) == (nil, -1))
        #expect(codes(.cancelled) == (nil, -1))
        #expect(codes(.preconditionFalse) == (nil, nil), "a skipped step leaves the invocation's code as it was")
    }

    // MARK: The executor follows the table for the endings that are not exit codes

    func step(_ name: String, action: String = "aws:runShellScript", _ lines: [String], runAs: String? = nil, onFailure: StepOnFailure? = nil) -> ResolvedStep {
        var inputs = RunShellScriptInputs(runCommand: lines, timeoutSeconds: 60)
        inputs.runAsUser = runAs
        return ResolvedStep(action: action, name: name, inputs: inputs.documentValue, precondition: nil, onFailure: onFailure, onSuccess: nil, finallyStep: false)
    }

    func run(_ steps: [ResolvedStep]) async throws -> InvocationExecutor.Outcome {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-verdict-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await InvocationExecutor().run(steps, workDirectory: dir)
    }

    @Test func anUnsupportedActionIsAFailureLikeAnyOther() async throws {
        let goesOn = try await run([step("patch", action: "aws:runPatchBaseline", ["x"]), step("after", ["echo after"])])
        #expect(goesOn.status == .failed)
        #expect(goesOn.steps.map(\.status) == ["Failed", "Success"])
        #expect(goesOn.stderr.contains("not supported"))
        let soft = try await run([step("patch", action: "aws:runPatchBaseline", ["x"], onFailure: .successAndExit), step("after", ["echo no"])])
        #expect(soft.status == .success)
        #expect(soft.steps.map(\.status) == ["Failed", "Skipped"])
    }

    @Test func aMissingUserIsAFailureLikeAnyOther() async throws {
        let user = "tender-no-such-user-\(Identifiers.randomHex(4))"
        let goesOn = try await run([step("as", ["echo no"], runAs: user), step("after", ["echo after"])])
        #expect(goesOn.status == .failed)
        #expect(goesOn.steps.map(\.status) == ["Failed", "Success"])
        let stops = try await run([step("as", ["echo no"], runAs: user, onFailure: .exit), step("after", ["echo no"])])
        #expect(stops.status == .failed)
        #expect(stops.steps.map(\.status) == ["Failed", "Skipped"])
        let soft = try await run([step("as", ["echo no"], runAs: user, onFailure: .successAndExit), step("after", ["echo no"])])
        #expect(soft.status == .success)
        #expect(soft.steps.map(\.status) == ["Failed", "Skipped"])
    }

    @Test func aSignalIsAFailureLikeAnyOther() async throws {
        let soft = try await run([step("killed", ["kill -9 $$"], onFailure: .successAndExit), step("after", ["echo no"])])
        #expect(soft.status == .success)
        #expect(soft.steps.map(\.status) == ["Failed", "Skipped"])
        #expect(soft.responseCode == 137)
    }
}
