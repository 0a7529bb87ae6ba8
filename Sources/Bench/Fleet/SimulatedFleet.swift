import Agent
import AsyncHTTPClient
import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import NIOSSL
import TenderAPI
import TenderWire
import X509

/// N simulated agents: registered for real (own key, CSR, certificate from the
/// controller's CA), each on its own mutual-TLS WebSocket, reconnecting with the
/// agent's own backoff and full jitter when a channel drops.
final class SimulatedFleet: Sendable {
    let identities: [SimulatedIdentity]
    let recorder: FleetRecorder
    let connector: SimulatedConnector
    private let stopped = NIOLockedValueBox(false)
    private let supervisors = NIOLockedValueBox<[Task<Void, Never>]>([])
    private let channels: NIOLockedValueBox<[(any Channel)?]>

    init(identities: [SimulatedIdentity], host: String, port: Int, group: any EventLoopGroup) {
        self.identities = identities
        recorder = FleetRecorder(count: identities.count)
        connector = SimulatedConnector(host: host, port: port, group: group, recorder: recorder)
        channels = NIOLockedValueBox(Array(repeating: nil, count: identities.count))
    }

    var count: Int { identities.count }

    // MARK: Registration

    /// The most registrations one activation allows; larger fleets use several.
    static let activationLimit = 1000

    /// A key and CSR per agent, made before the clock starts: key generation is the
    /// agent host's cost, not the controller's.
    struct Applicant: Sendable {
        let key: P256.Signing.PrivateKey
        let csr: String
    }

    static func makeApplicants(_ count: Int) throws -> [Applicant] {
        try (0..<count).map { _ in
            let key = P256.Signing.PrivateKey()
            return Applicant(key: key, csr: try CertificateTools.makeCSR(key: key, commonName: "tender-agent"))
        }
    }

    /// Registers every applicant with real `POST /v1/register` calls, `width` at a time,
    /// each on its own TLS connection as `tender-agent register` does.
    static func register(_ applicants: [Applicant], controllerURL: String, caPEM: URL, activations: [ActivationInfo],
                         width: Int, group: any EventLoopGroup) async throws -> [SimulatedIdentity] {
        guard let caCertificate = try NIOSSLCertificate.fromPEMFile(caPEM.path).first else { throw TenderError(.notFound, "no certificate in \(caPEM.path)") }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([caCertificate])
        tls.certificateVerification = .noHostnameVerification
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        configuration.connectionPool = .init(idleTimeout: .seconds(1), concurrentHTTP1ConnectionsPerHostSoftLimit: width)
        let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        defer { _ = client.shutdown() }
        guard activations.count * activationLimit >= applicants.count else {
            throw TenderError(.internalError, "\(activations.count) activations cannot register \(applicants.count) agents")
        }

        return try await withThrowingTaskGroup(of: (Int, SimulatedIdentity).self) { tasks in
            var results = [SimulatedIdentity?](repeating: nil, count: applicants.count)
            var next = 0
            func addNext() {
                guard next < applicants.count else { return }
                let index = next
                next += 1
                tasks.addTask {
                    let applicant = applicants[index]
                    let activation = activations[index / activationLimit]
                    let body = RegistrationRequest(activationId: activation.activationId, activationCode: activation.activationCode ?? "", csr: applicant.csr,
                                                   name: "bench-\(index)", hostname: "bench-\(index)")
                    var request = HTTPClientRequest(url: controllerURL + AgentPaths.register)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    // One registration per connection, as the agent does it.
                    request.headers.add(name: "Connection", value: "close")
                    request.body = .bytes(ByteBuffer(data: try JSON.encoder().encode(body)))
                    let response = try await client.execute(request, timeout: .seconds(60))
                    let data = try await response.body.collect(upTo: 1 << 20)
                    guard response.status == .ok || response.status == .created else {
                        throw TenderError(.unavailable, "registration \(index) failed: HTTP \(response.status.code): \(String(buffer: data))")
                    }
                    let registered = try JSON.decoder().decode(RegistrationResponse.self, from: data)
                    return (index, try identity(registered, key: applicant.key, ca: caCertificate))
                }
            }
            for _ in 0..<min(width, applicants.count) { addNext() }
            while let (index, identity) = try await tasks.next() {
                results[index] = identity
                addNext()
            }
            return results.compactMap { $0 }
        }
    }

    /// The agent's TLS setup: its own certificate and key, the fleet CA as the only root.
    static func identity(_ registered: RegistrationResponse, key: P256.Signing.PrivateKey, ca: NIOSSLCertificate) throws -> SimulatedIdentity {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([ca])
        tls.certificateVerification = .noHostnameVerification
        tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: Array(registered.certificate.utf8), format: .pem))]
        tls.privateKey = .privateKey(try CertificateTools.nioPrivateKey(key))
        return SimulatedIdentity(instanceID: registered.instanceId, tls: try NIOSSLContext(configuration: tls))
    }

    // MARK: Connections

    /// Connects every agent, at most `width` handshakes at a time (a fleet does not boot
    /// in one instant), then keeps each one connected until `stop()`.
    func connectAll(width: Int) async {
        await withTaskGroup(of: Void.self) { tasks in
            var next = 0
            func addNext() {
                guard next < count else { return }
                let index = next
                next += 1
                tasks.addTask { await self.connectOnce(index) }
            }
            for _ in 0..<min(width, count) { addNext() }
            while await tasks.next() != nil { addNext() }
        }
        let tasks = (0..<count).map { index in Task { await self.supervise(index) } }
        supervisors.withLockedValue { $0 = tasks }
    }

    /// One connection attempt; a failure leaves the channel empty for the supervisor.
    @discardableResult
    private func connectOnce(_ index: Int) async -> Bool {
        do {
            let channel = try await connector.connect(index: index, identity: identities[index])
            channels.withLockedValue { $0[index] = channel }
            return true
        } catch {
            if !Self.isRefused(error) { recorder.failedHandshake() }
            return false
        }
    }

    /// Keeps agent `index` connected the way `tender-agent run` does: when the channel
    /// ends, wait a backoff with full jitter (reset after a healthy session) and retry.
    private func supervise(_ index: Int) async {
        var backoff = Backoff()
        var connectedAt = ContinuousClock.now
        while !stopped.withLockedValue({ $0 }) {
            var session: Duration = .zero
            if let channel = channels.withLockedValue({ $0[index] }) {
                try? await channel.closeFuture.get()
                channels.withLockedValue { $0[index] = nil }
                if stopped.withLockedValue({ $0 }) { return }
                session = ContinuousClock.now - connectedAt
            }
            try? await Task.sleep(for: .seconds(backoff.next(afterSessionOf: session)))
            if stopped.withLockedValue({ $0 }) { return }
            if await connectOnce(index) { connectedAt = .now }
        }
    }

    /// Connection refused: the controller is not listening (restarting). Not a
    /// handshake failure; everything else after that is.
    static func isRefused(_ error: any Error) -> Bool {
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.contains { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
        }
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        return false
    }

    /// Closes every channel and stops reconnecting.
    func stop() async {
        stopped.withLockedValue { $0 = true }
        for task in supervisors.withLockedValue({ $0 }) { task.cancel() }
        for channel in channels.withLockedValue({ $0 }).compactMap({ $0 }) {
            try? await channel.close()
        }
        for task in supervisors.withLockedValue({ $0 }) { await task.value }
        // A supervisor may have connected again just before it saw the stop.
        for channel in channels.withLockedValue({ $0 }).compactMap({ $0 }) {
            try? await channel.close()
        }
    }
}
