import ArgumentParser
import Foundation
import TenderAPI
import TenderWire

/// `tender compliance`: what the last patch run found on each instance.
struct ComplianceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compliance",
        abstract: "Patch compliance: each instance's latest patch report.",
        subcommands: [List.self, Show.self, Summary.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the instances patch runs have reported for.")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let list = try await globals.client().get("/v1/compliance", as: [ComplianceInfo].self)
            if globals.output == .json { return try Output.json(list) }
            Output.table(["INSTANCE", "COMPLIANT", "MISSING", "FAILED", "PENDING REBOOT", "REJECTED", "INSTALLED", "BASELINE", "PATCH GROUP", "LAST"], list.map {
                [$0.instanceId, $0.compliant ? "yes" : "NO", String($0.missingCount), String($0.failedCount), String($0.installedPendingRebootCount),
                 String($0.installedRejectedCount), String($0.installedCount), $0.baselineId, $0.patchGroup ?? "-", "\($0.lastOperation) \(Output.time($0.lastOperationAt))"]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an instance's compliance, its packages and its patch operations.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Instance id.") var id: String

        func run() async throws {
            let detail = try await globals.client().get("/v1/compliance/\(PathComponent.escape(id))", as: ComplianceDetail.self)
            if globals.output == .json { return try Output.json(detail) }
            let c = detail.compliance
            Output.fields([
                ("Instance", c.instanceId), ("Compliant", c.compliant ? "yes" : "NO"), ("Baseline", c.baselineId), ("Patch group", c.patchGroup ?? "-"),
                ("System", c.operatingSystem), ("Last operation", "\(c.lastOperation) at \(Output.time(c.lastOperationAt)) (command \(c.commandId))"),
                ("Reboot required", detail.rebootRequired ? "yes" : "no"),
                ("Counts", "\(c.installedCount) installed, \(c.missingCount) missing, \(c.failedCount) failed, \(c.installedPendingRebootCount) pending reboot, "
                    + "\(c.installedRejectedCount) rejected, \(c.installedOtherCount) other, \(c.notApplicableCount) not applicable"),
            ])
            Output.line("Packages\(detail.truncated ? " (the first 1,000; the counts cover all)" : ""):")
            Output.table(["  NAME", "INSTALLED", "AVAILABLE", "CLASSIFICATION", "PRIORITY", "STATE"], detail.patches.map {
                ["  " + $0.name, $0.installedVersion ?? "-", $0.availableVersion ?? "-", $0.classification ?? "-", $0.priority ?? "-", $0.state.rawValue]
            })
            Output.line("Operations:")
            Output.table(["  AT", "OPERATION", "COMPLIANT", "MISSING", "FAILED", "COMMAND"], detail.history.map {
                ["  " + Output.time($0.at), $0.operation, $0.compliant ? "yes" : "no", String($0.missingCount), String($0.failedCount), $0.commandId]
            })
        }
    }

    struct Summary: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per patch group and baseline: compliant, non-compliant and never scanned instances, and the packages most often missing.")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let rows = try await globals.client().get("/v1/compliance-summary", as: [ComplianceSummary].self)
            if globals.output == .json { return try Output.json(rows) }
            Output.table(["PATCH GROUP", "BASELINE", "COMPLIANT", "NON-COMPLIANT", "NOT SCANNED", "MOST MISSING"], rows.map {
                [$0.patchGroup ?? "-", $0.baselineId ?? "-", String($0.compliant), String($0.nonCompliant), String($0.notScanned),
                 $0.topMissing.prefix(3).map { "\($0.name) (\($0.instances))" }.joined(separator: ", ")]
            })
        }
    }
}
