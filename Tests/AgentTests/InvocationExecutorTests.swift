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

    // MARK: Step runners

    /// A runner for a made-up action: ends as its inputs say and reports a payload.
    struct EchoRunner: StepRunner {
        func run(_ step: ResolvedStep, in context: StepContext) async throws -> StepRun {
            if step.inputs["throw"] != nil { throw TenderError.validation("echo cannot run this") }
            try SpoolFileIO.append(Data("echo ran\n".utf8), to: context.stdoutFile)
            let code = Int32(step.inputs["exit"]?.integerValue ?? 0)
            let body = step.inputs["body"] ?? .object(["step": .integer(context.index)])
            return StepRun(ending: .exited(code), payload: .init(kind: "test.echo/1", body: body))
        }
    }

    func withEcho(_ steps: [ResolvedStep]) async throws -> InvocationExecutor.Outcome {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-inv-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        var executor = InvocationExecutor()
        executor.runners.register(EchoRunner(), for: ["test:echo"])
        return try await executor.run(steps, workDirectory: dir)
    }

    func echo(_ name: String, _ inputs: [String: DocumentValue] = [:], onFailure: StepOnFailure? = nil, finally: Bool = false) -> ResolvedStep {
        ResolvedStep(action: "test:echo", name: name, inputs: .object(inputs), onFailure: onFailure, finallyStep: finally)
    }

    @Test func aRegisteredRunnerRunsItsActionAndReportsItsPayload() async throws {
        let outcome = try await withEcho([echo("first"), step("shell", ["echo shell"]), echo("second", ["body": .list([.string("a")])])])
        #expect(outcome.status == .success, "\(outcome)")
        #expect(outcome.stdout == "echo ran\nshell\necho ran\n")
        #expect(outcome.payloads == [
            StepPayload(step: "first", kind: "test.echo/1", body: .object(["step": .integer(0)])),
            StepPayload(step: "second", kind: "test.echo/1", body: .list([.string("a")])),
        ])
    }

    @Test func anActionWithoutARunnerIsAFailedStep() async throws {
        let outcome = try await run([echo("unknown"), step("after", ["echo after"])])
        #expect(outcome.status == .failed)
        #expect(outcome.steps.map(\.status) == ["Failed", "Success"])
        #expect(outcome.stderr == "step 'unknown': action test:echo is not supported by this agent\n")
        #expect(outcome.payloads.isEmpty)
    }

    /// A runner that throws (here: a working directory that does not exist) fails its
    /// step by the document's rules: onFailure exit stops, the finally step still runs.
    @Test func aRunnerThatCannotStartIsAFailedStepUnderTheRules() async throws {
        let missingDir = ResolvedStep(action: "aws:runShellScript", name: "nodir",
                                      inputs: RunShellScriptInputs(runCommand: ["pwd"], workingDirectory: "/no/such/dir-\(Identifiers.randomHex(4))").documentValue,
                                      onFailure: .exit)
        let outcome = try await run([missingDir, step("skipped", ["echo no"]), step("cleanup", ["echo cleanup"], finally: true)])
        #expect(outcome.status == .failed)
        #expect(outcome.responseCode == 0, "the finally step's exit is the last code")
        #expect(outcome.steps.map(\.status) == ["Failed", "Skipped", "Success"])
        #expect(outcome.stderr.hasPrefix("step 'nodir': working directory /no/such/dir-"))
        #expect(outcome.stdout == "cleanup\n")
        let soft = try await withEcho([echo("thrower", ["throw": .bool(true)], onFailure: .successAndExit), step("skipped", ["echo no"])])
        #expect(soft.status == .success)
        #expect(soft.steps.map(\.status) == ["Failed", "Skipped"])
        #expect(soft.stderr == "step 'thrower': echo cannot run this\n")
    }

    @Test func aPayloadOverTheLimitIsNotReportedAndFailsItsStep() async throws {
        let big = DocumentValue.string(String(repeating: "p", count: StepPayload.maxTotalBytes))
        let outcome = try await withEcho([echo("small"), echo("huge", ["body": big])])
        #expect(outcome.status == .failed)
        #expect(outcome.steps.map(\.status) == ["Success", "Failed"])
        #expect(outcome.payloads.map(\.step) == ["small"])
        #expect(outcome.stderr.contains("step 'huge': its result was not reported: step payloads take"))
    }

    @Test func payloadsBeforeARebootAreReportedAfterIt() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-inv-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        var executor = InvocationExecutor()
        executor.runners.register(EchoRunner(), for: ["test:echo"])
        let steps = [echo("before"), step("reboot", ["exit 194"]), echo("after")]
        let first = try await executor.run(steps, workDirectory: dir)
        #expect(first.rebootThenContinueAt == 2)
        let resumed = try await executor.run(steps, workDirectory: dir, startAt: 2)
        #expect(resumed.status == .success)
        #expect(resumed.payloads.map(\.step) == ["before", "after"])
    }
}
