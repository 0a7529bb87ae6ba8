import Foundation
import Logging
import PatchSandbox
import TenderPatching
import Testing
@testable import Agent
@testable import TenderWire

/// RebootIfNeeded through the real worker: an install whose package asks for a
/// reboot runs the reboot command once, and the report comes after the agent is
/// back, with the updates in use.
@Suite("Patch runs: RebootIfNeeded")
struct PatchRebootTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func installRebootsOnceAndReportsAfterwards() async throws {
        let sandbox = try AptSandbox()
        try sandbox.enableMaintainerScripts()
        let kernel = try sandbox.add("kernel", "1.0", to: .base)
        try sandbox.add("kernel", "1.1", to: .security, postinst: "touch /run/reboot-required\necho kernel >> /run/reboot-required.pkgs")
        try sandbox.publish()
        try sandbox.install(kernel)

        // The "reboot" counts itself and clears /run, as a real one does.
        let reboots = sandbox.directory.appendingPathComponent("reboots")
        let rebootScript = sandbox.directory.appendingPathComponent("reboot.sh")
        try """
            #!/bin/sh
            echo reboot >> \(reboots.path)
            rm -f \(sandbox.root.path)/run/reboot-required \(sandbox.root.path)/run/reboot-required.pkgs
            """.write(to: rebootScript, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: rebootScript.path)

        let state = AgentStateDirectory(sandbox.directory.appendingPathComponent("state").path)
        var executor = InvocationExecutor()
        executor.runners = .standard(packageRoot: sandbox.root.path)
        let inputs: DocumentValue = .object(["operation": "Install", "rebootOption": "RebootIfNeeded", "baseline": try DocumentValue.from(PredefinedBaselines.baseline(for: .debian))])
        let run = RunInvocation(invocationId: RunInvocation.id(commandID: "cmd-patch", instanceID: "mi-0123456789abcdef0"), commandId: "cmd-patch",
                                documentName: "Tender-RunPatchBaseline", steps: [ResolvedStep(action: PatchBaselineRunner.action, name: "PatchLinux", inputs: inputs)])

        let first = try AgentWorker(state: state, executor: executor, rebootCommand: [rebootScript.path], logger: Self.quiet)
        let recorder = AgentWorkerTests.Recorder()
        try await first.start()
        await first.connected(sender: recorder.sender)
        await first.receive(run)
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: reboots.path), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        await first.waitUntilIdle()
        #expect(await recorder.results(run.invocationId).isEmpty, "no result before the reboot")
        #expect(try sandbox.installed() == ["kernel": "1.1"])

        // Back after the reboot: the same step reports, and nothing is installed or rebooted again.
        let second = try AgentWorker(state: state, executor: executor, rebootCommand: [rebootScript.path], logger: Self.quiet)
        let again = AgentWorkerTests.Recorder()
        try await second.start()
        await second.connected(sender: again.sender)
        #expect(await again.wait { messages in messages.contains { $0.result(for: run.invocationId) != nil } })
        await second.waitUntilIdle()
        let result = try #require(await again.results(run.invocationId).first)
        #expect(result.status == .success, "\(result)")
        let report = try #require(try result.payloads?.first.map { try $0.body.decode(PatchReport.self) })
        #expect(report.packages.first { $0.name == "kernel" }?.state == .installed, "in use after the reboot")
        #expect(report.compliant)
        #expect(result.stdout.contains("Back after the reboot"))
        #expect((try String(contentsOf: reboots, encoding: .utf8)).split(separator: "\n").count == 1, "one reboot")
    }
}
