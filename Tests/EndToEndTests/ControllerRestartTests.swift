import Foundation
import Testing

/// Acceptance 4: the controller's state survives SIGTERM and kill -9; running agents come back by themselves.
@Suite("E2E: controller restart", .timeLimit(.minutes(10)))
struct ControllerRestartTests {
    struct Snapshot: Equatable, CustomStringConvertible {
        struct Act: Equatable { let id: String; let limit: Int?; let count: Int?; let tags: [String: String] }
        struct Inst: Equatable { let id: String; let name: String; let tags: [String: String] }
        let activations: [Act]
        let instances: [Inst]
        var description: String { "activations \(activations)\ninstances \(instances)" }
    }

    func snapshot(_ sb: Sandbox, _ controller: ControllerHandle) async throws -> Snapshot {
        let activations = try await sb.tenderJSON(controller, ["activation", "list"], as: [Activation].self)
        let instances = try await sb.instances(controller)
        return Snapshot(
            activations: activations.map { .init(id: $0.activationId, limit: $0.registrationLimit, count: $0.registrationsCount, tags: $0.tags ?? [:]) }
                .sorted { $0.id < $1.id },
            instances: instances.map { .init(id: $0.instanceId, name: $0.name, tags: $0.tags) }.sorted { $0.id < $1.id }
        )
    }

    /// Waits until the agent's own status shows it dropped the old connection, so a
    /// later "connected" proves a *new* connection to the restarted controller.
    func waitUntilDisconnected(_ sb: Sandbox, _ agents: [AgentHandle]) async throws {
        for agent in agents {
            try await eventually("\(agent.label) to notice the controller is gone", timeout: .seconds(20)) {
                try await sb.agentStatus(agent).connection != "connected" ? true : nil
            }
        }
    }

    func waitUntilReconnected(_ sb: Sandbox, _ agents: [AgentHandle], _ controller: ControllerHandle, since start: ContinuousClock.Instant, what: String) async throws {
        for agent in agents {
            try await eventually("\(agent.label) to reconnect after \(what)", timeout: .seconds(45)) {
                try await sb.agentStatus(agent).connection == "connected" ? true : nil
            }
        }
        try await sb.waitFor("Online", agents.map(\.instanceID), on: controller, timeout: .seconds(15))
        print("E2E restart: all agents Online again \(String(format: "%.2f", (ContinuousClock.now - start).seconds)) s after \(what)")
    }

    @Test("SIGTERM and kill -9 of the controller: activations, instances and tags survive; agents come back Online by themselves")
    func restartKeepsStateAndAgentsReconnect() async throws {
        try await withSandbox("restart") { sb in
            let controller = try await sb.startController(heartbeat: .fast)
            let fleet = try await sb.createActivation(controller, limit: 3, extra: ["--tag", "env=e2e"])
            let spare = try await sb.createActivation(controller, limit: 7, extra: ["--expires", "48h"])
            let deleted = try await sb.createActivation(controller, limit: 1)
            _ = try await sb.tender(controller, ["activation", "delete", deleted.activationId])
            let a1 = try await sb.registerAgent("r1", with: controller, activation: fleet)
            let a2 = try await sb.registerAgent("r2", with: controller, activation: fleet)
            let reader = try await sb.tenderJSON(controller, ["token", "create", "--role", "read-only", "--name", "survivor"], as: CreatedToken.self).token
            let tag1 = try await sb.tender(controller, ["instance", "tag", a1.instanceID, "role=web", "tier=1", "scratch=x"])
            try #require(tag1.exitCode == 0, "\(tag1)")
            let untag = try await sb.tender(controller, ["instance", "untag", a1.instanceID, "scratch"])
            try #require(untag.exitCode == 0, "\(untag)")
            let tag2 = try await sb.tender(controller, ["instance", "tag", a2.instanceID, "role=db"])
            try #require(tag2.exitCode == 0, "\(tag2)")

            let runs = [try sb.startAgent(a1), try sb.startAgent(a2)]
            try await sb.waitFor("Online", [a1.instanceID, a2.instanceID], on: controller, timeout: .seconds(30))
            let before = try await snapshot(sb, controller)
            #expect(before.instances.first { $0.id == a1.instanceID }?.tags == ["env": "e2e", "role": "web", "tier": "1"], "\(before)")
            #expect(before.instances.first { $0.id == a2.instanceID }?.tags == ["env": "e2e", "role": "db"], "\(before)")
            #expect(before.activations.contains { $0.id == spare.activationId })
            let adminToken = controller.adminToken

            // A second controller on the same data dir refuses to start (and must not disturb the first).
            let second = try sb.launch("controller-second", binary: "tender-controller",
                                       sb.controllerArguments(dataDir: controller.dataDir, agentPort: 0, heartbeat: .fast))
            let secondCode = try await second.waitForExit(timeout: .seconds(20))
            #expect(secondCode != nil && secondCode != 0, "a second controller on the same data dir kept running:\n\(second.logTail())")
            #expect(controller.process.isRunning)
            let stillOnline = try await sb.pingStatus(controller, a1.instanceID)
            #expect(stillOnline == "Online")

            // 1. SIGTERM: clean exit, listen.json removed, state intact after restart.
            let termCode = try await controller.terminate()
            #expect(termCode == 0, "graceful shutdown exit code:\n\(controller.process.logTail())")
            #expect(!FileManager.default.fileExists(atPath: controller.listenFile.path), "listen.json must be removed at shutdown")
            try await waitUntilDisconnected(sb, [a1, a2])
            let restartedAt = ContinuousClock.now
            try await controller.restart()
            #expect(controller.adminToken == adminToken, "the admin token must be reused")
            try await waitUntilReconnected(sb, [a1, a2], controller, since: restartedAt, what: "SIGTERM restart")
            let afterTerm = try await snapshot(sb, controller)
            #expect(afterTerm == before, "state changed across SIGTERM restart:\nbefore: \(before)\nafter: \(afterTerm)")
            let alive1 = runs.allSatisfy { $0.isRunning }
            #expect(alive1)

            // 2. kill -9: same, with a stale listen.json left behind.
            try await controller.kill9()
            try await waitUntilDisconnected(sb, [a1, a2])
            let killedAt = ContinuousClock.now
            try await controller.restart()
            try await waitUntilReconnected(sb, [a1, a2], controller, since: killedAt, what: "kill -9 restart")
            let afterKill = try await snapshot(sb, controller)
            #expect(afterKill == before, "state changed across kill -9 restart:\nbefore: \(before)\nafter: \(afterKill)")
            let alive2 = runs.allSatisfy { $0.isRunning }
            #expect(alive2, "agents must ride out controller restarts")

            // Tokens survived too, and the restored instances are still fully operable.
            let readerList = try await sb.tender(controller, ["instance", "list"], token: .token(reader))
            #expect(readerList.exitCode == 0, "\(readerList)")
            let spareShown = try await sb.tenderJSON(controller, ["activation", "show", spare.activationId], as: Activation.self)
            #expect(spareShown.registrationLimit == 7)
            let a3 = try await sb.registerAgent("r3", with: controller, activation: fleet)
            let a3Run = try sb.startAgent(a3)
            try await sb.waitFor("Online", [a3.instanceID], on: controller, timeout: .seconds(30))
            let a3Tags = try await sb.instances(controller).first { $0.instanceId == a3.instanceID }?.tags
            #expect(a3Tags == ["env": "e2e"])
            #expect(a3Run.isRunning)
        }
    }
}
