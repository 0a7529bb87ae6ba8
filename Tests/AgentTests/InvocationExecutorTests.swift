import Foundation
import Testing
@testable import Agent
@testable import TenderWire

@Suite("Invocation steps")
struct InvocationExecutorTests {
    func step(_ name: String, _ lines: [String], onFailure: StepOnFailure? = nil, onSuccess: StepOnSuccess? = nil, finally: Bool = false, precondition: StepPrecondition? = nil, timeout: Int = 3600) -> ResolvedStep {
        ResolvedStep(action: "aws:runShellScript", name: name, inputs: RunShellScriptInputs(runCommand: lines, timeoutSeconds: timeout).documentValue,
                     precondition: precondition, onFailure: onFailure, onSuccess: onSuccess, finallyStep: finally)
    }

    func run(_ steps: [ResolvedStep]) async throws -> InvocationExecutor.Outcome {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-inv-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await InvocationExecutor().run(steps, workDirectory: dir)
    }

    @Test func stepsRunInOrderAndOutputIsCombined() async throws {
        let outcome = try await run([step("a", ["echo one"]), step("b", ["echo two"])])
        #expect(outcome.status == .success)
        #expect(outcome.stdout == "one\ntwo\n")
        #expect(outcome.steps.map(\.status) == ["Success", "Success"])
    }

    @Test func aFailedStepFailsTheInvocationButTheDocumentContinues() async throws {
        let outcome = try await run([step("a", ["exit 2"]), step("b", ["echo after"])])
        #expect(outcome.status == .failed)
        #expect(outcome.steps.map(\.status) == ["Failed", "Success"])
        #expect(outcome.stdout == "after\n")
    }

    @Test func onFailureExitStopsButTheFinallyStepRuns() async throws {
        let outcome = try await run([
            step("a", ["exit 4"], onFailure: .exit), step("b", ["echo skipped"]), step("cleanup", ["echo cleanup"], finally: true),
        ])
        #expect(outcome.status == .failed)
        #expect(outcome.steps.map(\.status) == ["Failed", "Skipped", "Success"])
        #expect(outcome.stdout == "cleanup\n")
    }

    @Test func successAndExitAndOnSuccessExit() async throws {
        let soft = try await run([step("a", ["exit 1"], onFailure: .successAndExit), step("b", ["echo no"])])
        #expect(soft.status == .success)
        #expect(soft.steps.map(\.status) == ["Failed", "Skipped"])
        let early = try await run([step("a", ["echo yes"], onSuccess: .exit), step("b", ["echo no"])])
        #expect(early.status == .success)
        #expect(early.stdout == "yes\n")
    }

    @Test func preconditionsSkipSteps() async throws {
        let outcome = try await run([step("windows", ["echo no"], precondition: StepPrecondition(platformType: "Windows")), step("linux", ["echo yes"], precondition: .linux)])
        #expect(outcome.steps.map(\.status) == ["Skipped", "Success"])
        #expect(outcome.stdout == "yes\n")
    }

    @Test func aTimeoutEndsTheInvocationAsExecutionTimedOut() async throws {
        let outcome = try await run([step("slow", ["sleep 60"], timeout: 5), step("never", ["echo no"])])
        #expect(outcome.status == .timedOut)
        #expect(outcome.statusDetails == StatusDetails.executionTimedOut)
        #expect(outcome.steps.map(\.status) == ["TimedOut", "Skipped"])
    }

    @Test func largeOutputIsCutInlineAndKeptWhole() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-inv-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        // 100,000 bytes of stdout, 10,000 of stderr.
        let outcome = try await InvocationExecutor().run([step("big", [
            "head -c 100000 /dev/zero | tr '\\0' 'x'", "head -c 10000 /dev/zero | tr '\\0' 'e' >&2",
        ])], workDirectory: dir)
        #expect(outcome.status == .success)
        #expect(outcome.stdout.hasPrefix(String(repeating: "x", count: 24_000) + OutputLimits.truncationMarker))
        #expect(outcome.stdout.count == 24_000 + OutputLimits.truncationMarker.count)
        #expect(outcome.stderr.count == 8_000 + OutputLimits.truncationMarker.count)
        let full = try Data(contentsOf: URL(fileURLWithPath: outcome.fullStdoutFile))
        #expect(full.count == 100_000)
        #expect(full.allSatisfy { $0 == UInt8(ascii: "x") })
    }

    @Test(.enabled(if: getuid() == 0, "running a step as another user needs root"))
    func runsAsAnotherUser() async throws {
        let steps = [ResolvedStep(action: "aws:runShellScript", name: "who",
                                  inputs: RunShellScriptInputs(runCommand: ["id -un"], runAsUser: "nobody").documentValue)]
        let outcome = try await run(steps)
        #expect(outcome.status == .success, "\(outcome)")
        #expect(outcome.stdout == "nobody\n")
        let missing = try await run([ResolvedStep(action: "aws:runShellScript", name: "who",
                                                  inputs: RunShellScriptInputs(runCommand: ["id -un"], runAsUser: "no-such-user-x").documentValue)])
        #expect(missing.status == .failed)
        #expect(missing.stderr.contains("no-such-user-x"))
    }
}
