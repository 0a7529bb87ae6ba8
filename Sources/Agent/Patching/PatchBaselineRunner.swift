#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderPatching
import TenderWire

/// Runs a `tender:runPatchBaseline` step: scans the package root against the
/// baseline the controller resolved for this instance, and with `Install` installs
/// the approved missing updates and scans again. The report (`PatchReport`) is the
/// step's payload; the text output says what was done.
///
/// A run that cannot read its repositories or packages fails without a report, so
/// the controller keeps the last good compliance data.
struct PatchBaselineRunner: StepRunner {
    static let action = "tender:runPatchBaseline"

    /// The system patch runs act on (`tender-agent run --package-root`).
    var root: PackageRoot
    /// The longest one package tool may take (an install of many updates included).
    var toolDeadline: Duration = .seconds(3_600)
    var now: @Sendable () -> Date = { Date() }

    init(packageRoot: String = "/") {
        root = PackageRoot(packageRoot)
    }

    func run(_ step: ResolvedStep, in context: StepContext) async throws -> StepRun {
        let inputs = try PatchRunInputs(step.inputs)
        let log = PatchLog(stdout: context.stdoutFile, stderr: context.stderrFile)
        let release = try root.operatingSystem()
        guard let system = release.operatingSystem else {
            throw PatchRunError(.unsupportedSystem, "\(root.path) runs \(release.id), which Tender cannot patch")
        }
        guard system.family == inputs.baseline.operatingSystem.family else {
            throw PatchRunError(.badInputs, "baseline \(inputs.baseline.id) is for \(inputs.baseline.operatingSystem.rawValue), this system is \(system.rawValue)")
        }
        let backend: any PackageBackend
        switch system.family {
        case .apt:
            backend = try AptBackend(root: root, product: release.product, workDirectory: context.workDirectory, deadline: toolDeadline, cancellation: context.cancellation)
        case .dnf:
            backend = try await DnfBackend.make(root: root, release: release, workDirectory: context.workDirectory, deadline: toolDeadline, cancellation: context.cancellation)
        }
        let evaluator = PatchEvaluator(baseline: inputs.baseline, now: now())
        // RebootIfNeeded: the install rebooted the system and this is the same step
        // again, to report what the system is now. Nothing is installed twice.
        let rebootMarker = context.workDirectory.appendingPathComponent("rebooted-after-install")
        if let marker = FileManager.default.contents(atPath: rebootMarker.path) {
            log.say("Back after the reboot; reporting the system as it is now")
            let inventory = try await backend.inventory()
            return try finish(inputs, evaluator, release, inventory, failed: marker == Data("failed".utf8), log: log)
        }
        log.say("\(inputs.operation.rawValue) with baseline \(inputs.baseline.id) (\(inputs.baseline.name))\(inputs.patchGroup.map { ", patch group \($0)" } ?? "") on \(release.product)")

        if inputs.operation == .install, try await backend.repairInterrupted(log: log) {
            log.say("The interrupted package operation is repaired")
        }
        try await backend.refresh(log: log)
        var inventory = try await backend.inventory()
        var failed = false
        if inputs.operation == .install {
            let wanted = evaluator.updatesToInstall(inventory.packages, overrideList: inputs.installOverrideList)
            let blocked = inputs.baseline.rejectedPatchesAction == .block ? inputs.baseline.rejectedPatches : []
            if wanted.isEmpty {
                log.say("Nothing to install")
            } else {
                let outcome = try await backend.install(wanted, blocked: blocked, log: log)
                if !outcome.succeeded { failed = true }
                let after = try await backend.inventory()
                let attempted = Set(wanted.map(\.name)).subtracting(outcome.leftOut.map(\.name))
                let targets = Dictionary(wanted.map { ($0.name, $0.update?.version) }, uniquingKeysWith: { first, _ in first })
                inventory = after
                for index in inventory.packages.indices {
                    let name = inventory.packages[index].name
                    guard attempted.contains(name) else { continue }
                    // Not at the new version (one there but not configured is `broken`,
                    // which the evaluator reports FAILED).
                    if inventory.packages[index].installed?.version != targets[name] ?? nil {
                        inventory.packages[index].installFailed = true
                        failed = true
                    } else if after.rebootRequired, after.rebootPackages == nil {
                        // The system does not say which package asked: all of this run's.
                        inventory.packages[index].pendingReboot = true
                    }
                }
                if after.rebootRequired, inputs.rebootOption == .rebootIfNeeded {
                    try SecureFile.makeDirectory(context.workDirectory, mode: 0o700)
                    try SecureFile.write(failed ? "failed" : "ok", to: rebootMarker, mode: 0o600)
                    log.say("The system asks for a reboot; rebooting (RebootIfNeeded), the report follows when it is back")
                    return StepRun(ending: .exited(InvocationExecutor.rebootExitCode), repeatAfterReboot: true)
                }
            }
        }
        return try finish(inputs, evaluator, release, inventory, failed: failed, log: log)
    }

    /// The report of the system as `inventory` found it, as the step's payload.
    private func finish(_ inputs: PatchRunInputs, _ evaluator: PatchEvaluator, _ release: OSRelease, _ found: PackageInventory, failed: Bool, log: PatchLog) throws -> StepRun {
        var inventory = found
        // Packages the system names as waiting for the reboot (Debian's reboot-required.pkgs).
        if inventory.rebootRequired, let names = inventory.rebootPackages {
            for index in inventory.packages.indices where names.contains(inventory.packages[index].name) {
                inventory.packages[index].pendingReboot = true
            }
        }
        var facts = inventory.packages
        let installedNames = Set(facts.map(\.name))
        for spec in inputs.baseline.approvedPatches where !spec.name.contains("*") && !installedNames.contains(spec.name) {
            facts.append(PackageFacts(name: spec.name, installed: nil))
        }
        let report = PatchReport(operation: inputs.operation, evaluator: evaluator, patchGroup: inputs.patchGroup, product: release.product,
                                 facts: facts, rebootRequired: inventory.rebootRequired)
        log.say(Self.summary(report))
        if inputs.operation == .install, inventory.rebootRequired, inputs.rebootOption == .noReboot {
            log.say("The system asks for a reboot; NoReboot leaves the updates pending it")
        }
        let body = try DocumentValue.from(report)
        return StepRun(ending: .exited(failed ? 1 : 0), payload: StepRun.Payload(kind: PatchReport.kind, body: body))
    }

    static func summary(_ report: PatchReport) -> String {
        let c = report.counts
        return "\(report.compliant ? "Compliant" : "Non-compliant"): \(c.installed) installed, \(c.missing) missing, \(c.failed) failed, "
            + "\(c.installedPendingReboot) pending reboot, \(c.installedRejected) rejected, \(c.installedOther) other, \(c.notApplicable) not applicable"
    }
}

/// A patch step's inputs, as the controller resolves them.
struct PatchRunInputs: Sendable {
    var operation: PatchOperation
    var rebootOption: RebootOption
    var baseline: PatchBaseline
    var patchGroup: String?
    var installOverrideList: [PackageSpec]?

    enum RebootOption: String, Sendable {
        case rebootIfNeeded = "RebootIfNeeded"
        case noReboot = "NoReboot"
    }

    init(_ inputs: DocumentValue) throws {
        // The controller could not resolve a baseline for this instance and says why.
        if let reason = inputs["unresolved"]?.stringValue {
            throw PatchRunError(.unsupportedSystem, reason)
        }
        guard let operationText = inputs["operation"]?.stringValue, let operation = PatchOperation(rawValue: operationText) else {
            throw PatchRunError(.badInputs, "inputs.operation must be Scan or Install")
        }
        let rebootText = inputs["rebootOption"]?.stringValue ?? RebootOption.rebootIfNeeded.rawValue
        guard let rebootOption = RebootOption(rawValue: rebootText) else {
            throw PatchRunError(.badInputs, "inputs.rebootOption must be RebootIfNeeded or NoReboot")
        }
        guard let baselineValue = inputs["baseline"], let baseline = try? baselineValue.decode(PatchBaseline.self) else {
            throw PatchRunError(.badInputs, "inputs.baseline is missing or is not a patch baseline")
        }
        let problems = baseline.problems
        guard problems.isEmpty else {
            throw PatchRunError(.badInputs, "baseline \(baseline.id) is not usable: " + problems.map(\.description).joined(separator: "; "))
        }
        var overrideList: [PackageSpec]?
        if let list = inputs["installOverrideList"]?.listValue, !list.isEmpty {
            var problems: [DocumentProblem] = []
            overrideList = list.enumerated().compactMap { index, value in
                PackageSpec.parse(value.stringValue ?? "", path: "inputs.installOverrideList[\(index)]", problems: &problems)
            }
            guard problems.isEmpty else { throw PatchRunError(.badInputs, problems.map(\.description).joined(separator: "; ")) }
        }
        self.operation = operation
        self.rebootOption = rebootOption
        self.baseline = baseline
        self.patchGroup = inputs["patchGroup"]?.stringValue
        self.installOverrideList = overrideList
    }
}
