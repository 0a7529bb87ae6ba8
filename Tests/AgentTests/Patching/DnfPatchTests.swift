import Foundation
import PatchSandbox
import Testing
import TenderPatching
import TenderWire
@testable import Agent

/// Patch runs against a real dnf and rpm on a Rocky Linux 9 sandbox root: local
/// repositories built with rpmbuild and createrepo_c, with advisories in their
/// updateinfo, and older versions installed. Needs root (rpm chroots into the root
/// for scripts) and Debian's dnf, rpm and createrepo-c packages.
@Suite("Patch runs with dnf", .serialized)
struct DnfPatchTests {
    static let day: TimeInterval = 86_400

    /// hello, tool and libdep 1.0 installed. In the updates: hello 1.1 (a security
    /// advisory, Important), libdep 1.1 (security, Low) and tool 2.0 (a bug fix).
    /// - Parameter helloRequires: what hello 1.1 needs; `libextra`, not installed, is
    ///   in the base repository.
    static func rockySystem(helloRequires: String? = nil) throws -> DnfSandbox {
        let sandbox = try DnfSandbox()
        let installed = try ["hello", "tool", "libdep"].map { try sandbox.add($0, "1.0", to: .baseos) }
        try sandbox.add("libextra", "1.0", to: .baseos)
        try sandbox.add("hello", "1.1", to: .updates, requires: helloRequires)
        try sandbox.add("libdep", "1.1", to: .updates)
        try sandbox.add("tool", "2.0", to: .updates)
        let now = Date()
        sandbox.advise(.init(id: "TSA-2026:0001", type: "security", severity: "Important", issued: now - 30 * day, packages: [("hello", "1.1", "1")]), in: .updates)
        sandbox.advise(.init(id: "TSA-2026:0002", type: "security", severity: "Low", issued: now - 30 * day, packages: [("libdep", "1.1", "1")]), in: .updates)
        sandbox.advise(.init(id: "TBA-2026:0003", type: "bugfix", severity: nil, issued: now - 2 * day, packages: [("tool", "2.0", "1")]), in: .updates)
        try sandbox.publish()
        for rpm in installed { try sandbox.install(rpm) }
        return sandbox
    }

    static func patch(_ sandbox: DnfSandbox, _ operation: PatchOperation, baseline: PatchBaseline = PredefinedBaselines.baseline(for: .rockyLinux),
                      reboot: String = "NoReboot", overrideList: [String]? = nil) async throws -> PatchBaselineRunnerTests.Run {
        try await PatchBaselineRunnerTests.patch(sandbox, operation, baseline: baseline, reboot: reboot, overrideList: overrideList)
    }

    @Test func scanReadsTheAdvisoriesAndChangesNothing() async throws {
        let sandbox = try Self.rockySystem()
        let scan = try await Self.patch(sandbox, .scan)
        #expect(scan.error == nil, "\(scan.error ?? "")")
        #expect(scan.ending == .exited(0))
        let hello = try #require(scan.report?.packages.first { $0.name == "hello" })
        #expect(hello.state == .missing)
        #expect(hello.availableVersion == "1.1-1")
        #expect(hello.installedVersion == "1.0-1")
        #expect(hello.classification == "Security")
        #expect(hello.severity == "Important")
        #expect(scan.state("libdep") == nil, "a Low security update is not the default baseline's (Critical, Important)")
        #expect(scan.state("tool") == nil, "a bug fix is not a security update")
        #expect(scan.report?.counts.missing == 1)
        #expect(scan.report?.counts.installedOther == 2)
        #expect(scan.report?.compliant == false)
        #expect(scan.report?.product == "RockyLinux9.3")
        #expect(try sandbox.installed() == ["hello": "1.0-1", "tool": "1.0-1", "libdep": "1.0-1"])
    }

    @Test func installTakesExactlyTheApprovedUpdates() async throws {
        let sandbox = try Self.rockySystem()
        let install = try await Self.patch(sandbox, .install)
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(install.ending == .exited(0))
        #expect(try sandbox.installed() == ["hello": "1.1-1", "tool": "1.0-1", "libdep": "1.0-1"])
        #expect(install.state("hello") == .installed)
        #expect(install.report?.compliant == true)
        #expect(install.stdout.contains("Installing 1 update(s): hello 1.1-1"), "\(install.stdout)")

        let again = try await Self.patch(sandbox, .scan)
        #expect(again.state("hello") == .installed)
        #expect(again.report?.compliant == true)
    }

    @Test func classificationAndReleaseDateRules() async throws {
        let sandbox = try Self.rockySystem()
        // Bug fixes released at least a week ago: tool's (two days old) is not yet.
        var baseline = PredefinedBaselines.baseline(for: .rockyLinux)
        baseline.approvalRules = [
            ApprovalRule(filters: [PatchFilter(key: .classification, values: ["Bugfix"])], enableNonSecurity: true, approveAfterDays: 7),
            ApprovalRule(filters: [PatchFilter(key: .classification, values: ["Security"]), PatchFilter(key: .severity, values: ["Low"])], approveAfterDays: 7),
        ]
        let scan = try await Self.patch(sandbox, .scan, baseline: baseline)
        #expect(scan.error == nil, "\(scan.error ?? "")")
        #expect(scan.state("libdep") == .missing, "security, Low, 30 days old")
        #expect(scan.state("tool") == nil, "a bug fix of two days is not approved yet")
        #expect(scan.state("hello") == nil, "Important is not Low")

        baseline.approvalRules[0].approveAfterDays = 1
        let later = try await Self.patch(sandbox, .scan, baseline: baseline)
        #expect(later.state("tool") == .missing, "a bug fix of two days, approved after one")
        #expect(later.report?.packages.first { $0.name == "tool" }?.classification == "Bugfix")
    }

    @Test func blockedPackagesNeverComeInEvenAsDependencies() async throws {
        let sandbox = try Self.rockySystem(helloRequires: "libdep >= 1.1")
        var baseline = PredefinedBaselines.baseline(for: .rockyLinux)
        baseline.rejectedPatches = [PackageSpec(name: "libdep")]
        baseline.rejectedPatchesAction = .block
        let install = try await Self.patch(sandbox, .install, baseline: baseline)
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(try sandbox.installed() == ["hello": "1.0-1", "tool": "1.0-1", "libdep": "1.0-1"])
        #expect(install.stderr.contains("not installing hello 1.1-1: it would bring in libdep-1.1-1.noarch, which the baseline blocks"), "\(install.stderr)")
        #expect(install.state("hello") == .missing)
        #expect(install.state("libdep") == .installedRejected)
    }

    @Test func rejectedDependencyIsInstalledOtherUnderAllowAsDependency() async throws {
        let sandbox = try Self.rockySystem(helloRequires: "libextra")
        var baseline = PredefinedBaselines.baseline(for: .rockyLinux)
        baseline.rejectedPatches = [PackageSpec(name: "libextra"), PackageSpec(name: "tool")]
        let install = try await Self.patch(sandbox, .install, baseline: baseline)
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(try sandbox.installed() == ["hello": "1.1-1", "tool": "1.0-1", "libdep": "1.0-1", "libextra": "1.0-1"])
        #expect(install.state("hello") == .installed)
        #expect(install.state("libextra") == .installedOther, "rejected, and pulled in as a dependency")
        #expect(install.state("tool") == .installedRejected, "installed on purpose")
    }

    @Test func noRebootLeavesAKernelUpdatePendingAReboot() async throws {
        let sandbox = try Self.rockySystem()
        let kernel = try sandbox.add("kpatch-test", "1.0", to: .baseos)
        try sandbox.add("kpatch-test", "1.1", to: .updates)
        sandbox.advise(.init(id: "TSA-2026:0004", type: "security", severity: "Critical", issued: Date() - Self.day, packages: [("kpatch-test", "1.1", "1")]), in: .updates)
        try sandbox.publish()
        try sandbox.install(kernel)
        // Named a reboot package only now: its 1.0 was installed after the host booted.
        try sandbox.requireRebootFor("kpatch-test")
        let install = try await Self.patch(sandbox, .install, reboot: "NoReboot")
        #expect(install.error == nil, "\(install.error ?? "")")
        #expect(try sandbox.installed()["kpatch-test"] == "1.1-1")
        #expect(install.state("kpatch-test") == .installedPendingReboot)
        #expect(install.state("hello") == .installed, "only the reboot package waits for it")
        #expect(install.report?.rebootRequired == true)
        #expect(install.report?.compliant == false)
    }

    @Test func twoVersionsOfAnInstallOnlyPackageAreNotAnInterruptedUpgrade() async throws {
        let sandbox = try Self.rockySystem()
        // Installed side by side on purpose, as kernels are: dnf's installonlypkg provides.
        let old = try sandbox.add("kmod-tender", "1.0", to: .baseos, provides: "installonlypkg(kernel-module)")
        let new = try sandbox.add("kmod-tender", "1.1", to: .baseos, provides: "installonlypkg(kernel-module)")
        try sandbox.publish()
        try sandbox.rpm(["-i", "--nodeps", "--replacefiles", old.path, new.path])
        let twice = try sandbox.add("twice", "1.0", to: .baseos)
        let twiceNew = try sandbox.add("twice", "1.1", to: .baseos)
        try sandbox.publish()
        try sandbox.rpm(["-i", "--nodeps", "--replacefiles", twice.path, twiceNew.path])
        var baseline = PredefinedBaselines.baseline(for: .rockyLinux)
        baseline.approvedPatches = [PackageSpec(name: "kmod-tender"), PackageSpec(name: "twice")]
        baseline.approvedPatchesEnableNonSecurity = true
        let scan = try await Self.patch(sandbox, .scan, baseline: baseline)
        #expect(scan.error == nil, "\(scan.error ?? "")")
        #expect(scan.state("kmod-tender") == .installed, "\(String(describing: scan.report?.packages))")
        #expect(scan.state("twice") == .failed, "an ordinary package in twice is an upgrade cut short")
    }

    @Test func aBrokenRepositoryFailsTheRunWithDnfsMessage() async throws {
        let sandbox = try Self.rockySystem()
        try sandbox.corrupt(.updates)
        let scan = try await Self.patch(sandbox, .scan)
        #expect(scan.report == nil, "no report: the controller keeps the last good one")
        let error = try #require(scan.error)
        #expect(error.contains("dnf makecache failed"))
        #expect(error.contains("Error:"), "dnf's own message: \(error)")
        #expect(error.contains("updates"), "names the repository: \(error)")
    }

    @Test func anInterruptedUpgradeIsRepairedByTheNextInstall() async throws {
        let sandbox = try DnfSandbox()
        try sandbox.enableScripts()
        let slow = try sandbox.add("slow", "1.0", to: .baseos)
        // The first %post stops for a long time; the repair's does not.
        try sandbox.add("slow", "1.1", to: .updates, post: "if [ ! -e /var/tmp/configuring ]; then touch /var/tmp/configuring; sleep 600; fi")
        sandbox.advise(.init(id: "TSA-2026:0005", type: "security", severity: "Critical", issued: Date() - Self.day, packages: [("slow", "1.1", "1")]), in: .updates)
        try sandbox.publish()
        try sandbox.install(slow)

        let started = sandbox.root.appendingPathComponent("var/tmp/configuring")
        let rootPath = sandbox.root.path
        let killer = Task {
            let deadline = ContinuousClock.now + .seconds(60)
            while !FileManager.default.fileExists(atPath: started.path), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            // dnf, rpm and the script die at once, as in a power cut.
            try SandboxTools.killProcesses(using: rootPath)
        }
        let cut = try await Self.patch(sandbox, .install)
        try await killer.value
        #expect(FileManager.default.fileExists(atPath: started.path), "the %post script started")
        #expect(cut.ending == .exited(1), "the install failed: \(cut.stderr)")
        #expect(try sandbox.installedCounts()["slow"] == 2, "the old and the new version are both in the rpm database")
        #expect(cut.state("slow") == .failed, "\(String(describing: cut.report?.packages))")

        let repair = try await Self.patch(sandbox, .install)
        #expect(repair.error == nil, "\(repair.error ?? "")")
        #expect(repair.stdout.contains("Repairing an interrupted package operation (dnf remove --duplicates)"), "\(repair.stdout)")
        #expect(try sandbox.installedCounts()["slow"] == 1)
        #expect(try sandbox.installed()["slow"] == "1.1-1")
        #expect(repair.state("slow") == .installed)
        #expect(repair.report?.compliant == true)
    }
}
