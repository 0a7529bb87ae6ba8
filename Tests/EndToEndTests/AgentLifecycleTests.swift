import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Acceptance 1: registration limit, presence, reconnect with the same identity, deregistration.
@Suite("E2E: agent lifecycle", .timeLimit(.minutes(3)))
struct AgentLifecycleTests {
    @Test("limit 2 → two register, third refused; Online; kill -9 → ConnectionLost ≤ 10 s; restart → Online, same id; deregister → agent exits 3 and stays out")
    func activationLimitPresenceAndDeregistration() async throws {
        try await withSandbox("lifecycle") { sb in
            let controller = try await sb.startController(heartbeat: .fast)
            let activation = try await sb.createActivation(controller, limit: 2)
            #expect(activation.caFingerprint == controller.info.caFingerprint)

            // Two agents register; a third is refused by the limit, and keeps no identity.
            let a1 = try await sb.registerAgent("a1", with: controller, activation: activation)
            let a2 = try await sb.registerAgent("a2", with: controller, activation: activation)
            #expect(a1.instanceID != a2.instanceID)
            let third = try await sb.registerRaw("a3", controllerURL: controller.agentURL, activationID: activation.activationId,
                                                 code: activation.activationCode ?? "", fingerprint: activation.caFingerprint, stateDir: sb.agentStateDir("a3"))
            #expect(third.exitCode != 0, "a third registration must fail: \(third)")
            #expect(third.stderr.contains("registration limit"), "the refusal must name the registration limit: \(third.stderr)")
            #expect(!FileManager.default.fileExists(atPath: sb.agentStateDir("a3").appendingPathComponent("identity.json").path))
            let shown = try await sb.tenderJSON(controller, ["activation", "show", activation.activationId], as: Activation.self)
            #expect(shown.registrationsCount == 2)

            // Both come Online.
            var run1 = try sb.startAgent(a1)
            let run2 = try sb.startAgent(a2)
            let online = try await sb.waitFor("Online", [a1.instanceID, a2.instanceID], on: controller, timeout: .seconds(30))
            #expect(online.count == 2)
            for instance in online {
                #expect(instance.agentVersion?.isEmpty == false, "hello data should be recorded: \(instance)")
            }

            // kill -9 one agent: ConnectionLost within 10 s, the other stays Online.
            try await run1.kill9()
            let killedAt = ContinuousClock.now
            try await sb.waitFor("ConnectionLost", [a1.instanceID], on: controller, timeout: .seconds(10))
            let lostAfter = ContinuousClock.now - killedAt
            print("E2E lifecycle: ConnectionLost \(String(format: "%.2f", lostAfter.seconds)) s after kill -9 (heartbeat 1/4)")
            #expect(lostAfter < .seconds(10))
            let a2Status = try await sb.pingStatus(controller, a2.instanceID)
            #expect(a2Status == "Online")

            // The same state dir runs again: Online with the same id, no new registration.
            run1 = try sb.startAgent(a1, label: "agent-a1-again")
            try await sb.waitFor("Online", [a1.instanceID], on: controller, timeout: .seconds(30))
            let afterRestart = try await sb.instances(controller)
            #expect(Set(afterRestart.map(\.instanceId)) == [a1.instanceID, a2.instanceID])
            let again = try await sb.tenderJSON(controller, ["activation", "show", activation.activationId], as: Activation.self)
            #expect(again.registrationsCount == 2, "reconnecting must not register again")
            let status = try await sb.agentStatus(a1)
            #expect(status.instanceId == a1.instanceID)
            #expect(status.connection == "connected")

            // Deregister a2: its running agent exits 3 with the deregistration message.
            let dereg = try await sb.tender(controller, ["instance", "deregister", a2.instanceID])
            try #require(dereg.exitCode == 0, "\(dereg)")
            let deregisteredAt = ContinuousClock.now
            let code = try await run2.waitForExit(timeout: .seconds(10))
            try #require(code != nil, "agent a2 still running 10 s after deregistration:\n\(run2.logTail())")
            print("E2E lifecycle: agent exited \(String(format: "%.2f", (ContinuousClock.now - deregisteredAt).seconds)) s after deregistration")
            #expect(code == 3, "exit code after deregistration:\n\(run2.logTail())")
            #expect(run2.stderr.contains("deregistered"), "stderr:\n\(run2.stderr)")

            // Started again it cannot reconnect: it exits 3 again.
            let rerun2 = try sb.startAgent(a2, label: "agent-a2-again")
            let code2 = try await rerun2.waitForExit(timeout: .seconds(20))
            try #require(code2 != nil, "a deregistered agent kept running:\n\(rerun2.logTail())")
            #expect(code2 == 3, "\(rerun2.logTail())")
            #expect(rerun2.stderr.contains("deregistered"), "stderr:\n\(rerun2.stderr)")
            let listed = try await sb.instances(controller)
            #expect(listed.first { $0.instanceId == a2.instanceID }?.pingStatus != "Online")

            // The surviving agent was not disturbed.
            let a1Status = try await sb.pingStatus(controller, a1.instanceID)
            #expect(a1Status == "Online")
            #expect(run1.isRunning)
        }
    }

    @Test("default heartbeats (7 s timeout): ConnectionLost ≤ 10 s after kill -9, and after a silent (SIGSTOPped) agent")
    func connectionLostWithDefaultHeartbeat() async throws {
        try await withSandbox("default-heartbeat") { sb in
            let controller = try await sb.startController(heartbeat: .defaults)
            let activation = try await sb.createActivation(controller, limit: 2)
            let killed = try await sb.registerAgent("killed", with: controller, activation: activation)
            let frozen = try await sb.registerAgent("frozen", with: controller, activation: activation)
            let killedRun = try sb.startAgent(killed)
            let frozenRun = try sb.startAgent(frozen)
            try await sb.waitFor("Online", [killed.instanceID, frozen.instanceID], on: controller, timeout: .seconds(30))

            try await killedRun.kill9()
            let killedAt = ContinuousClock.now
            try await sb.waitFor("ConnectionLost", [killed.instanceID], on: controller, timeout: .seconds(10))
            let lost = ContinuousClock.now - killedAt
            print("E2E default heartbeat: ConnectionLost \(String(format: "%.2f", lost.seconds)) s after kill -9")
            #expect(lost < .seconds(10))

            // A host that vanishes without closing TCP: only the heartbeat timeout can notice.
            frozenRun.signal(SIGSTOP)
            let stoppedAt = ContinuousClock.now
            defer { frozenRun.signal(SIGCONT) }
            try await sb.waitFor("ConnectionLost", [frozen.instanceID], on: controller, timeout: .seconds(20))
            let silent = ContinuousClock.now - stoppedAt
            print("E2E default heartbeat: ConnectionLost \(String(format: "%.2f", silent.seconds)) s after SIGSTOP")
            #expect(silent > .seconds(2), "a stopped agent should not be dropped before the heartbeat timeout")
            #expect(silent < .seconds(9), "expected within the heartbeat timeout (7 s) + 2 s")

            // Woken up, it notices and reconnects by itself.
            frozenRun.signal(SIGCONT)
            try await sb.waitFor("Online", [frozen.instanceID], on: controller, timeout: .seconds(30))
        }
    }
}
