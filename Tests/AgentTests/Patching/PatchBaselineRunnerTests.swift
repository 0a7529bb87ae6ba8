import Foundation
import PatchSandbox
import Testing
import TenderPatching
import TenderWire
@testable import Agent

/// Patch runs against a real apt and dpkg on a sandbox root: local archives (one
/// security, one regular) and older versions installed. Needs root (dpkg) and the
/// Debian tools the test machine has; nothing outside the sandbox is touched.
@Suite("Patch runs with apt", .serialized)
struct PatchBaselineRunnerTests {
    /// hello and tool 1.0 installed; hello 1.1 in the security archive, tool 2.0 in
    /// the regular updates.
    static func debianSystem() throws -> AptSandbox {
        let sandbox = try AptSandbox()
        let hello = try sandbox.add("hello", "1.0", to: .base)
        let tool = try sandbox.add("tool", "1.0", to: .base, section: "admin")
        try sandbox.add("hello", "1.1", to: .security)
        try sandbox.add("tool", "2.0", to: .updates, section: "admin")
        try sandbox.publish()
        try sandbox.install(hello, tool)
        return sandbox
    }

    struct Run {
        var ending: StepEnding
        var report: PatchReport?
        var stdout: String
        var stderr: String
        var error: String?

        func state(_ name: String) -> PatchState? {
            report?.packages.first { $0.name == name }?.state
        }
    }

    static func patch(_ sandbox: some SandboxSystem, _ operation: PatchOperation, baseline: PatchBaseline = PredefinedBaselines.baseline(for: .debian),
                      reboot: String = "NoReboot", overrideList: [String]? = nil) async throws -> Run {
        let work = sandbox.directory.appendingPathComponent("work-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let stdout = work.appendingPathComponent("stdout"), stderr = work.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        var inputs: [String: DocumentValue] = ["operation": .string(operation.rawValue), "rebootOption": .string(reboot), "baseline": try DocumentValue.from(baseline)]
        if let overrideList { inputs["installOverrideList"] = .list(overrideList.map { .string($0) }) }
        let step = ResolvedStep(action: PatchBaselineRunner.action, name: "PatchLinux", inputs: .object(inputs))
        let context = StepContext(index: 0, workDirectory: work.appendingPathComponent("step"), stdoutFile: stdout, stderrFile: stderr, environment: [:], cancellation: CancelHandle())
        let runner = PatchBaselineRunner(packageRoot: sandbox.root.path)
        var run = Run(ending: .runnerFailed, report: nil, stdout: "", stderr: "")
        do {
            let result = try await runner.run(step, in: context)
            run.ending = result.ending
            run.report = try result.payload.map { try $0.body.decode(PatchReport.self) }
            #expect(result.payload?.kind == PatchReport.kind)
        } catch {
            run.error = "\(error)"
        }
        run.stdout = (try? String(contentsOf: stdout, encoding: .utf8)) ?? ""
        run.stderr = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
        return run
    }

    @Test func scanReportsTheSecurityUpdateMissingAndChangesNothing() async throws {
        let sandbox = try Self.debianSystem()
        let scan = try await Self.patch(sandbox, .scan)
        #expect(scan.error == nil, "\(scan.error ?? "")")
        #expect(scan.ending == .exited(0))
        #expect(scan.state("hello") == .missing)
        #expect(scan.report?.packages.first { $0.name == "hello" }?.availableVersion == "1.1")
        #expect(scan.report?.packages.first { $0.name == "hello" }?.classification == "Security")
        #expect(scan.state("tool") == nil, "a non-security update is not the security baseline's business: counted as other, not listed")
        #expect(scan.report?.counts.missing == 1)
        #expect(scan.report?.counts.installedOther == 1)
        #expect(scan.report?.compliant == false)
        #expect(scan.report?.product == "Debian12")
        #expect(try sandbox.installed() == ["hello": "1.0", "tool": "1.0"])
    }

    @Test func installTakesExactlyTheSecurityUpdates() async throws {
        let sandbox = try Self.debianSystem()
        let install = try await Self.patch(sandbox, .install)
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(install.ending == .exited(0))
        #expect(try sandbox.installed() == ["hello": "1.1", "tool": "1.0"])
        #expect(install.state("hello") == .installed)
        #expect(install.report?.compliant == true)
        #expect(install.stdout.contains("Installing 1 update(s): hello 1.1"))

        let again = try await Self.patch(sandbox, .scan)
        #expect(again.state("hello") == .installed)
        #expect(again.report?.compliant == true)
    }

    @Test func blockedPackagesNeverComeInEvenAsDependencies() async throws {
        let sandbox = try AptSandbox()
        let hello = try sandbox.add("hello", "1.0", to: .base)
        let telnet = try sandbox.add("telnet", "1.0", to: .base)
        let curl = try sandbox.add("curl", "1.0", to: .base)
        try sandbox.add("hello", "1.1", to: .security, depends: "libbad")
        try sandbox.add("libbad", "1.0", to: .security)
        try sandbox.add("telnet", "1.1", to: .security)
        try sandbox.add("curl", "1.1", to: .security)
        try sandbox.publish()
        try sandbox.install(hello, telnet, curl)
        var baseline = PredefinedBaselines.baseline(for: .debian)
        baseline.rejectedPatches = [PackageSpec(name: "libbad"), PackageSpec(name: "telnet")]
        baseline.rejectedPatchesAction = .block
        let install = try await Self.patch(sandbox, .install, baseline: baseline)
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(try sandbox.installed() == ["hello": "1.0", "telnet": "1.0", "curl": "1.1"], "only hello is left out")
        #expect(install.stderr.contains("not installing hello 1.1: it would bring in libbad 1.0, which the baseline blocks"))
        #expect(install.state("hello") == .missing)
        #expect(install.state("telnet") == .installedRejected)
    }

    @Test func rejectedDependencyIsInstalledOtherUnderAllowAsDependency() async throws {
        let sandbox = try AptSandbox()
        let hello = try sandbox.add("hello", "1.0", to: .base)
        let telnet = try sandbox.add("telnet", "1.0", to: .base)
        try sandbox.add("hello", "1.1", to: .security, depends: "libextra")
        try sandbox.add("libextra", "1.0", to: .base)
        try sandbox.publish()
        try sandbox.install(hello, telnet)
        var baseline = PredefinedBaselines.baseline(for: .debian)
        baseline.rejectedPatches = [PackageSpec(name: "libextra"), PackageSpec(name: "telnet")]
        let install = try await Self.patch(sandbox, .install, baseline: baseline)
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(try sandbox.installed() == ["hello": "1.1", "libextra": "1.0", "telnet": "1.0"])
        #expect(install.state("libextra") == .installedOther, "pulled in as a dependency")
        #expect(install.state("telnet") == .installedRejected, "installed on purpose")
        #expect(install.state("hello") == .installed)
    }

    @Test func noRebootLeavesTheUpdatePendingAReboot() async throws {
        let sandbox = try AptSandbox()
        try sandbox.enableMaintainerScripts()
        let kernel = try sandbox.add("kernel", "1.0", to: .base)
        let hello = try sandbox.add("hello", "1.0", to: .base)
        try sandbox.add("kernel", "1.1", to: .security, postinst: "touch /run/reboot-required\necho kernel >> /run/reboot-required.pkgs")
        try sandbox.add("hello", "1.1", to: .security)
        try sandbox.publish()
        try sandbox.install(kernel, hello)
        let install = try await Self.patch(sandbox, .install, reboot: "NoReboot")
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(try sandbox.installed() == ["kernel": "1.1", "hello": "1.1"])
        #expect(install.state("kernel") == .installedPendingReboot, "it asked for the reboot")
        #expect(install.state("hello") == .installed, "reboot-required.pkgs names only the kernel")
        #expect(install.report?.rebootRequired == true)
        #expect(install.report?.compliant == false)
        #expect(install.stdout.contains("NoReboot leaves the updates pending it"))
    }

    @Test func anUpdateThatCannotBeConfiguredIsFailed() async throws {
        let sandbox = try AptSandbox()
        try sandbox.enableMaintainerScripts()
        let hello = try sandbox.add("hello", "1.0", to: .base)
        try sandbox.add("hello", "1.1", to: .security, postinst: "exit 1")
        try sandbox.publish()
        try sandbox.install(hello)
        let install = try await Self.patch(sandbox, .install, reboot: "NoReboot")
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(install.ending == .exited(1), "the step fails")
        #expect(install.state("hello") == .failed, "unpacked at 1.1 but not configured")
        #expect(install.report?.compliant == false)
        #expect(install.stderr.contains("apt-get install ended with exit"), "\(install.stderr)")
    }

    @Test func overrideListInstallsWhatItNames() async throws {
        let sandbox = try Self.debianSystem()
        let install = try await Self.patch(sandbox, .install, overrideList: ["tool"])
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(try sandbox.installed() == ["hello": "1.0", "tool": "2.0"])
        #expect(install.state("hello") == .missing)
    }

    @Test func aBrokenRepositoryFailsTheRunWithAptsMessage() async throws {
        let sandbox = try Self.debianSystem()
        try sandbox.corrupt(.security)
        let scan = try await Self.patch(sandbox, .scan)
        #expect(scan.report == nil, "no report: the controller keeps the last good one")
        let error = try #require(scan.error)
        #expect(error.contains("apt-get update failed"))
        #expect(error.contains("E: "), "apt's own message: \(error)")
    }

    @Test func badInputsAreNamed() async throws {
        let sandbox = try Self.debianSystem()
        var baseline = PredefinedBaselines.baseline(for: .debian)
        baseline.approvedPatches = [PackageSpec(name: "$(reboot)")]
        let run = try await Self.patch(sandbox, .scan, baseline: baseline)
        #expect(run.error?.contains("approvedPatches[0]") == true, "\(run.error ?? "")")
        let rocky = try await Self.patch(sandbox, .scan, baseline: PredefinedBaselines.baseline(for: .rockyLinux))
        #expect(rocky.error == "baseline pb-default-rocky-linux is for ROCKY_LINUX, this system is DEBIAN")
    }
}
