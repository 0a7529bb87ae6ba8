import Foundation
import Testing

/// Agents renew their client certificate over the channel before it expires and
/// keep working with the new one; the one it replaced stops working.
/// (That a certificate two renewals old is refused while still within its dates is
/// `AgentSessionTests.replacedCertificateIsRefused`: here it expires first.)
@Suite("E2E: certificate renewal")
struct CertificateRenewalTests {
    /// What openssl reads from a certificate file.
    struct CertificateFacts {
        /// Hex, lower case, without leading zeros.
        let serial: String
        let notBefore: Date
        let notAfter: Date
        var lifetime: TimeInterval { notAfter.timeIntervalSince(notBefore) }
    }

    /// `--client-certificate-validity 30s`: certificates are backdated by a tenth of that (3 s).
    static let validity: TimeInterval = 30
    static let lifetime: TimeInterval = validity + validity / 10

    @Test("a 30 s certificate is renewed over the channel: a new serial, the one the controller logged storing, with the configured lifetime; once the old one expires it is refused and the agent reconnects with the new one")
    func renewsBeforeExpiry() async throws {
        try await withSandbox("renewal") { sb in
            let controller = try await sb.startController(extraArguments: ["--client-certificate-validity", "30s"])
            let activation = try await sb.createActivation(controller, limit: 1)
            let agent = try await sb.registerAgent("renewing", with: controller, activation: activation)
            let certificateFile = agent.stateDir.appendingPathComponent("agent.pem")
            let original = try String(contentsOf: certificateFile, encoding: .utf8)
            let originalFacts = try await Self.facts(sb, certificateFile)
            #expect(abs(originalFacts.lifetime - Self.lifetime) <= 1, "registration issued a certificate of \(originalFacts.lifetime) s")
            // The original identity, kept aside to try once it has been replaced.
            let oldIdentity = sb.agentStateDir("renewing-old")
            try FileManager.default.createDirectory(at: oldIdentity, withIntermediateDirectories: true)
            for file in ["ca.pem", "agent.key", "agent.pem"] {
                try FileManager.default.copyItem(at: agent.stateDir.appendingPathComponent(file), to: oldIdentity.appendingPathComponent(file))
            }

            let run = try sb.startAgent(agent)
            _ = try await sb.waitFor("Online", [agent.instanceID], on: controller, timeout: .seconds(30))
            // The agent renews once a third is left, about 20 s in.
            try await eventually("the agent to store a renewed certificate", timeout: .seconds(40), every: .milliseconds(500)) {
                let now = try? String(contentsOf: certificateFile, encoding: .utf8)
                return now != nil && now != original ? true : nil
            }
            let renewed = try await Self.facts(sb, certificateFile)
            #expect(renewed.serial != originalFacts.serial)
            #expect(abs(renewed.lifetime - Self.lifetime) <= 1, "the renewed certificate lasts \(renewed.lifetime) s, not the configured 30 s")
            #expect(renewed.notAfter > originalFacts.notAfter)
            #expect(run.stderr.contains("certificate renewed"), "\(run.logTail())")
            // The controller logs the serial once it has stored it: the same one.
            let logged = try await eventually("the controller to log the renewal", timeout: .seconds(10), every: .milliseconds(100)) {
                Self.renewedSerials(of: agent.instanceID, in: controller.process.stderr).last
            }
            #expect(logged == renewed.serial, "the agent holds serial \(renewed.serial), the controller stored \(logged)")

            try await run.kill9()
            _ = try await sb.waitFor("ConnectionLost", [agent.instanceID], on: controller, timeout: .seconds(10))
            // Past the original certificate's expiry (a wait to a known instant): it no
            // longer opens a channel; the renewed one does.
            let untilExpired = originalFacts.notAfter.timeIntervalSinceNow + 1
            if untilExpired > 0 { try await Task.sleep(for: .milliseconds(Int(untilExpired * 1000))) }
            let refusalsBefore = controller.process.stderr.occurrences(of: "refused an agent's TLS handshake")
            let stale = try await sb.rawAgentChannel(AgentHandle(label: "renewing-old", stateDir: oldIdentity, instanceID: agent.instanceID),
                                                     port: controller.info.agentPort, mode: "hello")
            #expect(stale.result.exitCode != 0, "the replaced, expired certificate opened a channel: \(stale.result)")
            #expect(!stale.events.contains { $0["type"] == "welcome" }, "\(stale.events)")
            #expect(controller.process.stderr.occurrences(of: "refused an agent's TLS handshake") > refusalsBefore, "\(controller.process.logTail())")

            let again = try sb.startAgent(agent, label: "renewing-again")
            _ = try await sb.waitFor("Online", [agent.instanceID], on: controller, timeout: .seconds(30))
            #expect(again.isRunning)
            #expect(!again.stderr.contains("expired"), "\(again.logTail())")
        }
    }

    /// Serial and dates of a PEM certificate, read by openssl (independent of the product's code).
    static func facts(_ sb: Sandbox, _ file: URL) async throws -> CertificateFacts {
        let result = try await sb.run("openssl x509", binary: "/usr/bin/env",
                                      ["openssl", "x509", "-noout", "-serial", "-startdate", "-enddate", "-dateopt", "iso_8601", "-in", file.path])
        guard result.exitCode == 0 else { throw E2EError("openssl failed (is openssl 3 installed?):\n\(result)") }
        var fields: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        // "2026-12-02 04:13:48Z"
        func date(_ key: String) throws -> Date {
            guard let text = fields[key], let date = ISO8601DateFormatter().date(from: text.replacingOccurrences(of: " ", with: "T")) else {
                throw E2EError("openssl printed no \(key): \(result.stdout)")
            }
            return date
        }
        guard let serial = fields["serial"] else { throw E2EError("openssl printed no serial: \(result.stdout)") }
        return CertificateFacts(serial: normalized(serial), notBefore: try date("notBefore"), notAfter: try date("notAfter"))
    }

    /// Serials as the controller logs them ("1a:2:ff", bytes without padding) or openssl
    /// prints them ("1A02FF"), in one form.
    static func normalized(_ serial: String) -> String {
        let hex = serial.contains(":")
            ? serial.split(separator: ":").map { $0.count == 1 ? "0" + $0 : String($0) }.joined()
            : serial
        let trimmed = hex.lowercased().drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// The serials in the controller's "renewed agent certificate" lines for `instanceID`, in order.
    static func renewedSerials(of instanceID: String, in log: String) -> [String] {
        log.split(separator: "\n").compactMap { line in
            guard line.contains("renewed agent certificate"), line.contains(instanceID), let range = line.range(of: "serial=") else { return nil }
            return normalized(String(line[range.upperBound...].prefix { $0.isHexDigit || $0 == ":" }))
        }
    }
}
