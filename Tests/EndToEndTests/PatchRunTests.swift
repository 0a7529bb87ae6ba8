import Foundation
import PatchSandbox
import Testing

/// Patch runs end to end: a real controller, a real agent patching a sandbox root
/// (`--package-root`) with real apt and dpkg, driven by `tender patch` and read
/// back through `tender command show`.
@Suite("E2E: patch runs")
struct PatchRunTests {
    struct Command: Decodable {
        struct Invocation: Decodable {
            struct Payload: Decodable {
                struct Report: Decodable {
                    struct Package: Decodable {
                        let name: String
                        let installedVersion: String?
                        let availableVersion: String?
                        let state: String
                    }

                    let operation: String
                    let baselineId: String
                    let patchGroup: String?
                    let packages: [Package]
                }

                let step: String
                let kind: String
                let body: Report
            }

            let instanceId: String
            let status: String
            let stderr: String
            let payloads: [Payload]?
        }

        let commandId: String
        let status: String
        let invocations: [Invocation]?
    }

    @Test("scan reports the missing security update, install puts it in, each instance with its patch group's baseline")
    func scanThenInstall() async throws {
        try await withSandbox("patch-runs") { sb in
            let system = try AptSandbox()
            let hello = try system.add("hello", "1.0", to: .base)
            let tool = try system.add("tool", "1.0", to: .base, section: "admin")
            try system.add("hello", "1.1", to: .security)
            try system.add("tool", "2.0", to: .security, section: "admin")
            try system.publish()
            try system.install(hello, tool)

            let controller = try await sb.startController()
            let agent = try await Self.patchAgents(sb, controller, [("patched", system)])[0]

            // The instance's patch group rejects tool: its baseline, not the default, is sent.
            let baseline = try await sb.tenderJSON(controller, ["baseline", "create", "--name", "web", "--os", "DEBIAN", "--rejected", "tool"], as: BaselineID.self)
            #expect(try await sb.tender(controller, ["baseline", "register-patch-group", baseline.baselineId, "--patch-group", "web-servers"]).exitCode == 0)
            #expect(try await sb.tender(controller, ["instance", "tag", agent.instanceID, "Patch Group=web-servers"]).exitCode == 0)

            let scan = try await sb.tender(controller, ["patch", "scan", "--target", "ids=\(agent.instanceID)", "--wait"])
            #expect(scan.exitCode == 0, "\(scan)")
            let scanned = try await Self.show(sb, controller, scan)
            let scanReport = try #require(scanned.invocations?.first?.payloads?.first, "\(scanned)")
            #expect(scanReport.kind == "tender.patch/1")
            #expect(scanReport.body.operation == "Scan")
            #expect(scanReport.body.baselineId == baseline.baselineId)
            #expect(scanReport.body.patchGroup == "web-servers")
            #expect(scanReport.body.packages.first { $0.name == "hello" }?.state == "MISSING")
            #expect(scanReport.body.packages.first { $0.name == "tool" }?.state == "INSTALLED_REJECTED")
            #expect(try system.installed() == ["hello": "1.0", "tool": "1.0"], "a scan changes nothing")

            let install = try await sb.tender(controller, ["patch", "install", "--target", "ids=\(agent.instanceID)", "--reboot", "NoReboot", "--wait"])
            #expect(install.exitCode == 0, "\(install)")
            let installed = try await Self.show(sb, controller, install)
            let installReport = try #require(installed.invocations?.first?.payloads?.first, "\(installed)")
            #expect(installReport.body.packages.first { $0.name == "hello" }?.state == "INSTALLED")
            #expect(try system.installed() == ["hello": "1.1", "tool": "1.0"], "the rejected package's security update is not installed")

            // Compliance: the latest report, with its packages and the operations so far.
            let list = try await sb.tenderJSON(controller, ["compliance", "list"], as: [Compliance].self)
            #expect(list.map(\.instanceId) == [agent.instanceID])
            #expect(list.first?.compliant == false, "tool is installed and rejected")
            #expect(list.first?.installedRejectedCount == 1 && list.first?.missingCount == 0 && list.first?.lastOperation == "Install")
            let detail = try await sb.tenderJSON(controller, ["compliance", "show", agent.instanceID], as: Compliance.self)
            #expect(detail.patches?.first { $0.name == "hello" }?.state == "INSTALLED")
            #expect(detail.history?.map(\.operation) == ["Install", "Scan"])
            #expect(detail.commandId == installed.commandId)

            // A repository apt cannot read: the run fails with apt's message, and the
            // last good compliance stays.
            try system.corrupt(.security)
            let broken = try await sb.tender(controller, ["patch", "scan", "--target", "ids=\(agent.instanceID)", "--wait"])
            #expect(broken.exitCode == 1, "\(broken)")
            let failed = try await Self.show(sb, controller, broken)
            #expect(failed.invocations?.first?.status == "Failed")
            #expect(failed.invocations?.first?.stderr.contains("apt-get update failed") == true, "\(failed.invocations?.first?.stderr ?? "")")
            let after = try await sb.tenderJSON(controller, ["compliance", "show", agent.instanceID], as: Compliance.self)
            #expect(after.commandId == installed.commandId)
            #expect(after.history?.count == 2)
        }
    }

    @Test("a Rocky Linux instance is patched with dnf against the Rocky baseline, beside a Debian one with apt, by one command")
    func rockyAndDebianInOneCommand() async throws {
        try await withSandbox("patch-dnf") { sb in
            let rocky = try DnfSandbox()
            let oldHello = try rocky.add("hello", "1.0", to: .baseos)
            let oldTool = try rocky.add("tool", "1.0", to: .baseos)
            try rocky.add("hello", "1.1", to: .updates)
            try rocky.add("tool", "1.1", to: .updates)
            rocky.advise(.init(id: "TSA-2026:0100", type: "security", severity: "Critical", issued: Date() - 86_400, packages: [("hello", "1.1", "1")]), in: .updates)
            rocky.advise(.init(id: "TSA-2026:0101", type: "security", severity: "Moderate", issued: Date() - 86_400, packages: [("tool", "1.1", "1")]), in: .updates)
            try rocky.publish()
            try rocky.install(oldHello, oldTool)
            let debian = try AptSandbox()
            try debian.install(try debian.add("hello", "1.0", to: .base))
            try debian.add("hello", "1.1", to: .security)
            try debian.publish()

            let controller = try await sb.startController()
            let agents = try await Self.patchAgents(sb, controller, [("rocky", rocky), ("debian", debian)])
            let rockyAgent = agents[0], debianAgent = agents[1]

            let install = try await sb.tender(controller, ["patch", "install", "--target", "*", "--reboot", "NoReboot", "--wait"])
            #expect(install.exitCode == 0, "\(install)")
            let shown = try await Self.show(sb, controller, install)
            let rockyReport = try #require(shown.invocations?.first { $0.instanceId == rockyAgent.instanceID }?.payloads?.first?.body, "\(shown)")
            #expect(rockyReport.baselineId == "pb-default-rocky-linux")
            #expect(rockyReport.packages.first { $0.name == "hello" }?.state == "INSTALLED")
            #expect(rockyReport.packages.first { $0.name == "hello" }?.installedVersion == "1.1-1")
            #expect(rockyReport.packages.first { $0.name == "tool" } == nil, "a Moderate security update is not the default baseline's")
            #expect(try rocky.installed() == ["hello": "1.1-1", "tool": "1.0-1"])
            let debianReport = try #require(shown.invocations?.first { $0.instanceId == debianAgent.instanceID }?.payloads?.first?.body, "\(shown)")
            #expect(debianReport.baselineId == "pb-default-debian")
            #expect(try debian.installed() == ["hello": "1.1"])

            let rockyCompliance = try await sb.tenderJSON(controller, ["compliance", "show", rockyAgent.instanceID], as: Compliance.self)
            #expect(rockyCompliance.compliant == true && rockyCompliance.missingCount == 0)
        }
    }

    struct Compliance: Decodable {
        struct Package: Decodable {
            let name: String
            let state: String
        }

        struct Operation: Decodable {
            let operation: String
        }

        let instanceId: String
        let compliant: Bool
        let missingCount: Int
        let installedRejectedCount: Int
        let lastOperation: String
        let commandId: String
        let patches: [Package]?
        let history: [Operation]?
    }

    @Test("two instances in different patch groups are scanned against their own baselines, and the summary counts them apart")
    func twoPatchGroups() async throws {
        try await withSandbox("patch-groups") { sb in
            func system() throws -> AptSandbox {
                let system = try AptSandbox()
                let hello = try system.add("hello", "1.0", to: .base)
                let tool = try system.add("tool", "1.0", to: .base)
                try system.add("hello", "1.1", to: .security)
                try system.add("tool", "1.1", to: .security)
                try system.publish()
                try system.install(hello, tool)
                return system
            }
            let webSystem = try system(), otherSystem = try system()
            let controller = try await sb.startController()
            let agents = try await Self.patchAgents(sb, controller, [("web", webSystem), ("other", otherSystem)])
            let web = agents[0], other = agents[1]

            // The web servers' baseline approves only tool; the other instance gets the default.
            let baseline = try await sb.tenderJSON(controller, ["baseline", "create", "--name", "web-tool-only", "--os", "DEBIAN", "--approve", "NAME=tool"], as: BaselineID.self)
            #expect(try await sb.tender(controller, ["baseline", "register-patch-group", baseline.baselineId, "--patch-group", "web-servers"]).exitCode == 0)
            #expect(try await sb.tender(controller, ["instance", "tag", web.instanceID, "PatchGroup=web-servers"]).exitCode == 0)

            let scan = try await sb.tender(controller, ["patch", "scan", "--target", "*", "--wait"])
            #expect(scan.exitCode == 0, "\(scan)")
            let list = try await sb.tenderJSON(controller, ["compliance", "list"], as: [Compliance].self)
            #expect(list.count == 2)
            #expect(list.first { $0.instanceId == web.instanceID }?.missingCount == 1)
            #expect(list.first { $0.instanceId == other.instanceID }?.missingCount == 2)

            // Registered after the scan, never connected: not scanned, and its system unknown.
            _ = try await sb.registerAgent("idle", with: controller, activation: try await sb.createActivation(controller, limit: 1))
            let summary = try await sb.tenderJSON(controller, ["compliance", "summary"], as: [Summary].self)
            #expect(summary.first { $0.baselineId == nil }?.notScanned == 1, "\(summary)")
            let webRow = try #require(summary.first { $0.patchGroup == "web-servers" }, "\(summary)")
            #expect(webRow.baselineId == baseline.baselineId && webRow.nonCompliant == 1 && webRow.compliant == 0 && webRow.notScanned == 0)
            #expect(webRow.topMissing.map(\.name) == ["tool"])
            let otherRow = try #require(summary.first { $0.patchGroup == nil && $0.baselineId != nil }, "\(summary)")
            #expect(otherRow.baselineId == "pb-default-debian" && otherRow.nonCompliant == 1)
            #expect(otherRow.topMissing.map(\.name) == ["hello", "tool"])
        }
    }

    struct Summary: Decodable {
        struct Missing: Decodable {
            let name: String
            let instances: Int
        }

        let patchGroup: String?
        let baselineId: String?
        let compliant: Int
        let nonCompliant: Int
        let notScanned: Int
        let topMissing: [Missing]
    }

    struct BaselineID: Decodable {
        let baselineId: String
    }

    /// Registers an agent per system and starts each on its root (`--package-root`),
    /// returning them once all are online.
    static func patchAgents(_ sb: Sandbox, _ controller: ControllerHandle, _ systems: [(label: String, system: any SandboxSystem)]) async throws -> [AgentHandle] {
        let activation = try await sb.createActivation(controller, limit: systems.count)
        var agents: [AgentHandle] = []
        for (label, system) in systems {
            let agent = try await sb.registerAgent(label, with: controller, activation: activation)
            _ = try sb.startAgent(agent, extraArguments: ["--package-root", system.root.path])
            agents.append(agent)
        }
        _ = try await sb.waitFor("Online", agents.map(\.instanceID), on: controller, timeout: .seconds(30))
        return agents
    }

    static func show(_ sb: Sandbox, _ controller: ControllerHandle, _ waited: CommandResult) async throws -> Command {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let first = try decoder.decode(Command.self, from: Data(waited.stdout.utf8))
        return try await sb.tenderJSON(controller, ["command", "show", first.commandId], as: Command.self)
    }
}
