import Crypto
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing
import X509
@testable import Controller
@testable import TenderWire

/// The controller's side of agent channels, on a real (SQLite) store, with no listener,
/// no TLS and no presence monitor: no periodic sweep runs, so what a test sees is the
/// direct path alone. Agents are `NIOAsyncTestingChannel`s driven by the test.
struct GatewayFixture: Sendable {
    let store: SQLStore
    let ca: CertificateAuthority
    let registry: ConnectionRegistry
    let sessions: AgentSessionHandler
    let events: FleetEvents
    let instances: InstanceService
    let activationID: String

    static let logger: Logger = {
        var logger = Logger(label: "tender.tests.gateway")
        logger.logLevel = .critical
        return logger
    }()

    /// How long any single expected event may take in these tests: far longer than the
    /// milliseconds they take, short enough that a bug fails fast.
    static let bound: Duration = .seconds(2)

    /// A migrated store, a CA issuing `clientValidity`-long certificates and the session
    /// handler over them, all removed afterwards.
    static func with(clientValidity: TimeInterval = 3600, _ body: (GatewayFixture) async throws -> Void) async throws {
        try await TestDatabase.with(.sqlite) { database in
            let store = try await database.open()
            let dir = URL(fileURLWithPath: database.location).deletingLastPathComponent()
            do {
                try await store.migrate()
                var ca = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
                ca.clientCertificateValidity = clientValidity
                let activationID = UUID().uuidString.lowercased()
                try await store.insertActivation(ActivationRecord(
                    id: activationID, codeHash: SecretHash.hash("code"), registrationLimit: 100, registrationsCount: 0,
                    expiresAt: Date().addingTimeInterval(3600), defaultInstanceName: nil, description: nil, tags: [:], createdAt: Date(), deletedAt: nil))
                let registry = ConnectionRegistry()
                let events = FleetEvents()
                let sessions = AgentSessionHandler(store: store, registry: registry, ca: ca, heartbeatInterval: 2, heartbeatTimeout: 7, events: events, logger: logger)
                events.subscribe(sessions)
                let fixture = GatewayFixture(store: store, ca: ca, registry: registry, sessions: sessions, events: events,
                                             instances: InstanceService(store: store, registry: registry, events: events), activationID: activationID)
                try await body(fixture)
                await store.shutdown()
            } catch {
                await store.shutdown()
                throw error
            }
        }
    }

    /// An agent's identity: its key and the certificate the CA issued for it.
    struct Identity: Sendable {
        let instanceID: String
        let key: P256.Signing.PrivateKey
        let certificate: Certificate
    }

    /// Registers a new instance (as `RegistrationService` does: the certificate's serial stored).
    func register() async throws -> Identity {
        let id = Identifiers.newInstanceID()
        let key = P256.Signing.PrivateKey()
        let certificate = try ca.issueClientCertificate(csrPEM: try CertificateTools.makeCSR(key: key, commonName: "tender-agent"), instanceID: id)
        try await store.registerInstance(InstanceRecord(
            id: id, name: id, activationID: activationID, registeredAt: Date(),
            certificateSerial: certificate.serialNumber.description, certificateNotAfter: certificate.notValidAfter), activationID: activationID, now: Date())
        return Identity(instanceID: id, key: key, certificate: certificate)
    }

    /// Opens a channel as the gateway would after the WebSocket upgrade, with `certificate`
    /// as the client certificate, and runs the session on it in the background.
    func connect(_ identity: Identity, certificate: Certificate? = nil) async throws -> FakeAgent {
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000))
        let wrapped = try await channel.testingEventLoop.executeInContext {
            try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel)
        }
        let agent = FakeAgent(channel: channel)
        let sessions = self.sessions
        let used = certificate ?? identity.certificate
        Task {
            await sessions.run(channel: wrapped, instanceID: identity.instanceID, certificate: used, liveness: Liveness())
            agent.sessionDidEnd()
        }
        return agent
    }
}

/// One connection as the agent sees it: frames to send, and what the controller wrote.
final class FakeAgent: Sendable {
    enum Received: Sendable, Equatable {
        case message(ChannelMessage)
        case close(code: UInt16?)
        case other(WebSocketOpcode)
    }

    let channel: NIOAsyncTestingChannel
    private let ended = Mutex(false)
    private let codec = ChannelCodec()

    init(channel: NIOAsyncTestingChannel) {
        self.channel = channel
    }

    /// Whether the controller's session for this connection has returned.
    var sessionEnded: Bool { ended.withLock { $0 } }
    fileprivate func sessionDidEnd() { ended.withLock { $0 = true } }
    var isOpen: Bool { channel.isActive }

    func send(_ message: ChannelMessage) async throws {
        let data = try codec.encode(message)
        try await channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: data)))
    }

    func hello(versions: [Int] = ChannelProtocol.supportedVersions) async throws {
        try await send(.hello(Hello(protocolVersions: versions, agentVersion: "test-1.0", platformName: "Linux", platformVersion: "6",
                                    hostname: "fake-agent", ipAddresses: ["127.0.0.1"])))
    }

    /// The next frame the controller wrote to this agent, waiting at most `bound`.
    func next(within bound: Duration = GatewayFixture.bound) async throws -> Received {
        let deadline = ContinuousClock.now + bound
        while true {
            if let frame = try await channel.readOutbound(as: WebSocketFrame.self) {
                switch frame.opcode {
                case .text:
                    return .message(try codec.decode(Data(buffer: frame.unmaskedData)).message)
                case .connectionClose:
                    var data = frame.unmaskedData
                    return .close(code: data.readInteger(as: UInt16.self))
                default:
                    return .other(frame.opcode)
                }
            }
            guard ContinuousClock.now < deadline else {
                throw TestFailure("the controller wrote nothing to the agent within \(bound)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Hello, then the welcome it must get, then a malformed message answered by the
    /// session's main loop: once that error is back the session is past its checks
    /// after the welcome (a deregistration racing the hello), so what the test does
    /// next meets a settled session. (Pings would not do: `HeartbeatResponder`
    /// answers them on the event loop, before the session sees them.)
    func helloAndWelcome() async throws -> Welcome {
        try await hello()
        let answer = try await next()
        guard case .message(.welcome(let welcome)) = answer else { throw TestFailure("expected welcome, got \(answer)") }
        try await channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "settled?")))
        let answer2 = try await next()
        guard case .message(.error) = answer2 else { throw TestFailure("expected the error answering a malformed message after welcome, got \(answer2)") }
        return welcome
    }

    /// True once `condition` holds, polling until `bound`; false if it never did.
    static func eventually(within bound: Duration = GatewayFixture.bound, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + bound
        while true {
            if try await condition() { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Closed by the controller and its session over, within `bound`.
    func closedAndEnded(within bound: Duration = GatewayFixture.bound) async -> Bool {
        await Self.eventually(within: bound) { !isOpen && sessionEnded }
    }

    /// The agent hangs up; its session ends.
    func hangUp() async {
        try? await channel.close()
        _ = await closedAndEnded()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
