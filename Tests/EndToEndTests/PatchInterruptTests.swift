import Foundation
import PatchSandbox
import Testing

/// An install cut short: the agent and the package manager are killed while a
/// package's maintainer script runs (a power cut, or systemd stopping the unit's
/// whole cgroup). On restart the invocation is reported Failed with the reason and
/// never run again; the next install repairs dpkg first, says so, and completes.
@Suite("E2E: interrupted patch install")
struct PatchInterruptTests {
    struct Command: Decodable {
        struct Invocation: Decodable {
            let status: String
            let stdout: String
            let stderr: String
        }

        let commandId: String
        let status: String
        let invocations: [Invocation]?
    }

    @Test("kill -9 during an install: Failed with a reason on restart, the next install repairs dpkg and completes")
    func killedInstall() async throws {
        try await withSandbox("patch-interrupt") { sb in
            let system = try AptSandbox()
            try system.enableMaintainerScripts()
            let slow = try system.add("slow", "1.0", to: .base)
            // The first configuration stops half-way for a long time; the repair's does not.
            let started = system.root.appendingPathComponent("var/tmp/configuring")
            try system.add("slow", "1.1", to: .security, postinst: """
                if [ ! -e /var/tmp/configuring ]; then touch /var/tmp/configuring; sleep 600; fi
                """)
            try system.publish()
            try system.install(slow)

            let controller = try await sb.startController()
            let activation = try await sb.createActivation(controller, limit: 1)
            let agent = try await sb.registerAgent("interrupted", with: controller, activation: activation)
            let first = try sb.startAgent(agent, extraArguments: ["--package-root", system.root.path])
            _ = try await sb.waitFor("Online", [agent.instanceID], on: controller, timeout: .seconds(30))

            let sent = try await sb.tenderJSON(controller, ["patch", "install", "--target", "ids=\(agent.instanceID)", "--reboot", "NoReboot"], as: Command.self)
            let deadline = ContinuousClock.now + .seconds(60)
            while !FileManager.default.fileExists(atPath: started.path), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            #expect(FileManager.default.fileExists(atPath: started.path), "the maintainer script started")

            // The agent and everything working on the sandbox root die at once.
            try await first.kill9()
            try SandboxTools.killProcesses(using: system.root.path)

            _ = try sb.startAgent(agent, label: "agent-interrupted-2", extraArguments: ["--package-root", system.root.path])
            let failed = try await Self.waitForEnd(sb, controller, sent.commandId)
            #expect(failed.status == "Failed")
            #expect(failed.invocations?.first?.stderr.contains("the agent stopped while this invocation was running") == true, "\(failed)")

            // The next install repairs the half-configured package, then completes.
            let repair = try await sb.tender(controller, ["patch", "install", "--target", "ids=\(agent.instanceID)", "--reboot", "NoReboot", "--wait"])
            #expect(repair.exitCode == 0, "\(repair)")
            let repaired = try await Self.waitForEnd(sb, controller, try JSONDecoder().decode(Command.self, from: Data(repair.stdout.utf8)).commandId)
            #expect(repaired.invocations?.first?.stdout.contains("Repairing an interrupted package operation") == true, "\(repaired)")
            #expect(try system.installed() == ["slow": "1.1"])
            let status = try AptSandbox.run("/usr/bin/dpkg-query", ["--admindir=\(system.root.path)/var/lib/dpkg", "-W", "-f", "${db:Status-Abbrev}", "slow"])
            #expect(status.hasPrefix("ii"), "configured: \(status)")
        }
    }

    static func waitForEnd(_ sb: Sandbox, _ controller: ControllerHandle, _ id: String) async throws -> Command {
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let command = try await sb.tenderJSON(controller, ["command", "show", id], as: Command.self)
            if ["Success", "Failed", "Cancelled", "TimedOut"].contains(command.status) || ContinuousClock.now > deadline { return command }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
