import Foundation
import Testing

/// Agents renew their client certificate over the channel before it expires and
/// keep working with the new one.
@Suite("E2E: certificate renewal")
struct CertificateRenewalTests {
    @Test("an agent renews a short-lived certificate over the channel and reconnects with it after it would have expired")
    func renewsBeforeExpiry() async throws {
        try await withSandbox("renewal") { sb in
            // 30 s certificates: the agent must renew once about a third is left (~20 s in).
            let controller = try await sb.startController(extraArguments: ["--client-certificate-validity", "30s"])
            let activation = try await sb.createActivation(controller, limit: 1)
            let agent = try await sb.registerAgent("renewing", with: controller, activation: activation)
            let certificateFile = agent.stateDir.appendingPathComponent("agent.pem")
            let original = try String(contentsOf: certificateFile, encoding: .utf8)
            let run = try sb.startAgent(agent)
            _ = try await sb.waitFor("Online", [agent.instanceID], on: controller, timeout: .seconds(30))

            let renewed = try await eventually("the agent to store a renewed certificate", timeout: .seconds(40), every: .milliseconds(500)) {
                let now = try? String(contentsOf: certificateFile, encoding: .utf8)
                return now != nil && now != original ? now : nil
            }
            #expect(renewed != original)
            #expect(run.stderr.contains("certificate renewed"), "\(run.logTail())")

            // Past the original certificate's expiry, a fresh connection must use the new one.
            try await Task.sleep(for: .seconds(12))
            try await run.kill9()
            _ = try await sb.waitFor("ConnectionLost", [agent.instanceID], on: controller, timeout: .seconds(10))
            let again = try sb.startAgent(agent, label: "renewing-again")
            _ = try await sb.waitFor("Online", [agent.instanceID], on: controller, timeout: .seconds(30))
            #expect(again.isRunning)
        }
    }
}
