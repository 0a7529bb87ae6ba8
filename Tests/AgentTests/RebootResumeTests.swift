import Foundation
import Logging
import Testing
@testable import Agent
@testable import TenderWire

/// Exit code 194: the agent runs the reboot command and the document continues at
/// the next step when the agent starts again, without repeating earlier steps.
@Suite("Reboot and continue")
struct RebootResumeTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func exitCode194RebootsAndTheDocumentContinuesAfterARestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-reboot-\(Identifiers.randomHex(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rebooted = dir.appendingPathComponent("rebooted")
        let counter = dir.appendingPathComponent("first-step-runs")
        let state = AgentStateDirectory(dir.appendingPathComponent("state").path)
        let run = RunInvocation(
            invocationId: RunInvocation.id(commandID: "cmd-1", instanceID: "mi-0123456789abcdef0"), commandId: "cmd-1", documentName: "Doc",
            steps: [
                ResolvedStep(action: "aws:runShellScript", name: "first", inputs: RunShellScriptInputs(runCommand: ["echo run >> \(counter.path)", "echo before", "exit 194"]).documentValue),
                ResolvedStep(action: "aws:runShellScript", name: "second", inputs: RunShellScriptInputs(runCommand: ["echo after"]).documentValue),
            ])

        // First life: the step asks for a reboot; the "reboot" here only leaves a mark.
        let recorder = AgentWorkerTests.Recorder()
        let first = try AgentWorker(state: state, rebootCommand: ["/usr/bin/touch", rebooted.path], logger: Self.quiet)
        try await first.start()
        await first.connected(sender: recorder.sender)
        await first.receive(run)
        try await eventually { FileManager.default.fileExists(atPath: rebooted.path) }
        await first.waitUntilIdle()
        #expect(await recorder.results(run.invocationId).isEmpty, "no result before the document has finished")

        // Second life (after the reboot): it continues with the second step only.
        let again = AgentWorkerTests.Recorder()
        let second = try AgentWorker(state: state, rebootCommand: ["/usr/bin/touch", rebooted.path], logger: Self.quiet)
        try await second.start()
        await second.connected(sender: again.sender)
        #expect(await again.wait { messages in messages.contains { $0.result(for: run.invocationId) != nil } })
        await second.waitUntilIdle()
        let result = try #require(await again.results(run.invocationId).first)
        #expect(result.status == .success, "\(result)")
        #expect(result.stdout == "before\nafter\n")
        #expect(await again.output(run.invocationId, "stdout") == Data("before\nafter\n".utf8))
        #expect(((try? String(contentsOf: counter, encoding: .utf8)) ?? "").split(separator: "\n").count == 1, "the first step must not run again")
    }

    @Test func aFailingRebootCommandFailsTheInvocation() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-reboot-\(Identifiers.randomHex(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let recorder = AgentWorkerTests.Recorder()
        let worker = try AgentWorker(state: AgentStateDirectory(dir.path), rebootCommand: ["/bin/false"], logger: Self.quiet)
        try await worker.start()
        await worker.connected(sender: recorder.sender)
        let run = AgentWorkerTests.invocation(2, ["exit 194"])
        await worker.receive(run)
        #expect(await recorder.wait { messages in messages.contains { $0.result(for: run.invocationId) != nil } })
        await worker.waitUntilIdle()
        let result = try #require(await recorder.results(run.invocationId).first)
        #expect(result.status == .failed)
        #expect(result.stderr.contains("reboot command failed"))
        #expect(throws: TenderError.self) { try AgentWorker(state: AgentStateDirectory(dir.path), rebootCommand: ["reboot"], logger: Self.quiet) }
    }

    func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 20 s")
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
