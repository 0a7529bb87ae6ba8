import Crypto
import Foundation
import Testing
import X509
@testable import Controller
@testable import TenderWire

/// The identity guarantees of the agent channel, each on its own path: no presence
/// monitor runs here, so its sweep for deregistrations made on other replicas cannot
/// stand in for a broken direct path (docs/security.md, "Registration and identity").
@Suite("Agent gateway: sessions and identity")
struct AgentSessionTests {
    // MARK: Deregistration

    @Test("deregistration revokes at once: the live channel gets the notice and close 4001, and is closed by the time deregister returns")
    func deregistrationClosesTheLiveChannelAtOnce() async throws {
        try await GatewayFixture.with { f in
            let identity = try await f.register()
            let agent = try await f.connect(identity)
            _ = try await agent.helloAndWelcome()
            #expect(await FakeAgent.eventually { f.registry.isConnected(identity.instanceID) })

            let started = ContinuousClock.now
            try await f.instances.deregister(identity.instanceID)
            let took = ContinuousClock.now - started
            #expect(took < GatewayFixture.bound, "deregister took \(took)")
            // "At once": closed when the call returns, not by some later sweep.
            #expect(!agent.isOpen, "the channel was still open when deregister returned")
            let notice = try await agent.next()
            guard case .message(.deregistered(let body)) = notice else {
                Issue.record("expected the deregistered notice, got \(notice)")
                return
            }
            #expect(body.code == TenderError.Code.instanceDeregistered.rawValue)
            #expect(try await agent.next() == .close(code: ChannelProtocol.closeDeregistered))
            #expect(await agent.closedAndEnded(), "the session did not end")
            #expect(!f.registry.isConnected(identity.instanceID))
            #expect(try await f.store.instance(id: identity.instanceID)?.state == .deregistered)
        }
    }

    @Test("a deregistered agent stays out: refused before hello is answered, never welcomed, never connected")
    func deregisteredIdentityIsRefused() async throws {
        try await GatewayFixture.with { f in
            let identity = try await f.register()
            #expect(try await f.store.deregisterInstance(id: identity.instanceID, at: Date()))

            let started = ContinuousClock.now
            let agent = try await f.connect(identity)
            try await agent.hello()
            let first = try await agent.next()
            guard case .message(.deregistered(let body)) = first else {
                Issue.record("a deregistered identity must be refused with the deregistered notice first, got \(first)")
                await agent.hangUp()
                return
            }
            #expect(body.code == TenderError.Code.instanceDeregistered.rawValue)
            #expect(body.message.contains(identity.instanceID))
            #expect(try await agent.next() == .close(code: ChannelProtocol.closeDeregistered))
            #expect(await agent.closedAndEnded(), "the refused session did not end")
            #expect(ContinuousClock.now - started < GatewayFixture.bound)
            #expect(!f.registry.isConnected(identity.instanceID))
            #expect(f.registry.count == 0)
            let record = try #require(try await f.store.instance(id: identity.instanceID))
            #expect(record.pingStatus != .online)
            #expect(record.agentVersion == nil, "the refused hello must not be recorded")
        }
    }

    // MARK: Certificates

    /// Renews over `agent`'s channel with a CSR for `key`; returns the new certificate.
    func renew(_ agent: FakeAgent, key: P256.Signing.PrivateKey) async throws -> Certificate {
        try await agent.send(.renewCertificate(CertificateRenewalRequest(csr: try CertificateTools.makeCSR(key: key, commonName: "tender-agent"))))
        let answer = try await agent.next()
        guard case .message(.certificateRenewed(let renewal)) = answer else { throw TestFailure("expected certificateRenewed, got \(answer)") }
        return try Certificate(pemEncoded: renewal.certificate)
    }

    @Test("a certificate replaced by renewal is refused: two renewals on, the first certificate cannot open a channel; the current and the one it replaced can")
    func replacedCertificateIsRefused() async throws {
        try await GatewayFixture.with(clientValidity: 5400) { f in
            let identity = try await f.register()
            let first = identity.certificate

            let a = try await f.connect(identity, certificate: first)
            _ = try await a.helloAndWelcome()
            let second = try await renew(a, key: identity.key)
            await a.hangUp()
            // What the controller stored is the certificate it sent, with the configured lifetime.
            var record = try #require(try await f.store.instance(id: identity.instanceID))
            #expect(record.certificateSerial == second.serialNumber.description)
            #expect(record.previousCertificateSerial == first.serialNumber.description)
            #expect(second.serialNumber != first.serialNumber)
            #expect(second.publicKey == first.publicKey)
            #expect(abs(second.notValidAfter.timeIntervalSinceNow - 5400) < 60, "lifetime: \(second.notValidAfter)")

            let b = try await f.connect(identity, certificate: second)
            _ = try await b.helloAndWelcome()
            let third = try await renew(b, key: identity.key)
            await b.hangUp()
            record = try #require(try await f.store.instance(id: identity.instanceID))
            #expect(record.certificateSerial == third.serialNumber.description)

            // The first certificate, still valid by its dates, is refused: error, close, no welcome.
            let stale = try await f.connect(identity, certificate: first)
            try await stale.hello()
            let refusal = try await stale.next()
            guard case .message(.error(let notice)) = refusal else {
                Issue.record("a replaced certificate must be refused, got \(refusal)")
                await stale.hangUp()
                return
            }
            #expect(notice.code == TenderError.Code.forbidden.rawValue)
            #expect(notice.message.contains("replaced by a renewal"))
            #expect(try await stale.next() == .close(code: ChannelProtocol.closeProtocolError))
            #expect(await stale.closedAndEnded())
            #expect(!f.registry.isConnected(identity.instanceID))

            // The current one works, and so does the one it replaced (the agent may not have stored the new one yet).
            for (name, certificate) in [("current", third), ("replaced by the current", second)] {
                let agent = try await f.connect(identity, certificate: certificate)
                let welcome = try await agent.helloAndWelcome()
                #expect(welcome.instanceId == identity.instanceID, "\(name)")
                #expect(await FakeAgent.eventually { f.registry.isConnected(identity.instanceID) }, "\(name)")
                await agent.hangUp()
            }
        }
    }

    // MARK: Protocol and duplicates

    @Test("no common protocol version: an error naming both sides' versions, close 4002, nothing recorded Online")
    func noCommonProtocolVersionIsRefused() async throws {
        try await GatewayFixture.with { f in
            let identity = try await f.register()
            let agent = try await f.connect(identity)
            try await agent.hello(versions: [99, 100])
            let answer = try await agent.next()
            guard case .message(.error(let notice)) = answer else {
                Issue.record("expected a refusal, got \(answer)")
                await agent.hangUp()
                return
            }
            #expect(notice.code == TenderError.Code.unsupportedProtocol.rawValue)
            #expect(notice.message.contains("\(ChannelProtocol.supportedVersions)") && notice.message.contains("[99, 100]"), "\(notice.message)")
            #expect(try await agent.next() == .close(code: ChannelProtocol.closeProtocolError))
            #expect(await agent.closedAndEnded())
            #expect(!f.registry.isConnected(identity.instanceID))
            let record = try #require(try await f.store.instance(id: identity.instanceID))
            #expect(record.pingStatus == .connectionLost)
            #expect(record.agentVersion == nil, "a refused hello must not be recorded")
        }
    }

    @Test("a second connection with the same identity replaces the first: the first gets close 4003 and is closed; the instance stays Online on the second")
    func supersededConnectionIsClosed() async throws {
        try await GatewayFixture.with { f in
            let identity = try await f.register()
            let old = try await f.connect(identity)
            _ = try await old.helloAndWelcome()
            #expect(await FakeAgent.eventually { f.registry.isConnected(identity.instanceID) })

            let new = try await f.connect(identity)
            _ = try await new.helloAndWelcome()
            #expect(try await old.next() == .close(code: ChannelProtocol.closeSuperseded))
            #expect(await old.closedAndEnded(), "the superseded connection was not closed")
            #expect(new.isOpen && !new.sessionEnded)
            // The old session's end must not take the instance offline.
            #expect(f.registry.isConnected(identity.instanceID))
            #expect(f.registry.count == 1)
            #expect(try await f.store.instance(id: identity.instanceID)?.pingStatus == .online)
            await new.hangUp()
            #expect(await FakeAgent.eventually { !f.registry.isConnected(identity.instanceID) })
        }
    }
}
