import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import TenderPatching
import TenderWire

/// A running controller: wires the store, the CA, the agents' gateway and the
/// operator API together and runs them until SIGTERM/SIGINT, then shuts down in
/// order (stop accepting, close channels, flush, close the store).
public struct Controller: Sendable {
    /// Written to the data dir once both listeners are bound, so scripts and tests
    /// that asked for port 0 can find the real ports.
    public struct ListenInfo: Codable, Sendable {
        public var agentPort: Int
        public var apiPort: Int
        public var caFingerprint: String
        public var pid: Int32
    }

    public let configuration: ControllerConfiguration
    let logger: Logger

    public init(configuration: ControllerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public static func listenFile(in dataDirectory: URL) -> URL { dataDirectory.appendingPathComponent("listen.json") }

    public func run() async throws {
        let dataDir = try DataDirectory(configuration.dataDirectory)
        let listenURL = Self.listenFile(in: dataDir.url)
        try? FileManager.default.removeItem(at: listenURL)

        var ca = try CertificateAuthority.loadOrCreate(in: dataDir.url, logger: logger)
        ca.clientCertificateValidity = configuration.clientCertificateValidity
        let serverIdentity = try ca.serverIdentity(names: configuration.effectiveNames, in: dataDir.url, logger: logger)
        logger.notice("fleet CA", metadata: ["path": "\(dataDir.file("ca.pem").path)", "fingerprint": "\(ca.fingerprint)"])

        let store: SQLStore
        if let url = configuration.databaseURL {
            store = try await SQLStore.postgres(url: url, logger: logger)
        } else {
            store = try await SQLStore.sqlite(path: dataDir.file("tender.db").path, logger: logger)
        }
        do {
            try await store.migrate()
            let version = try await store.schemaVersion()
            logger.notice("store ready", metadata: ["backend": "\(store.backendName)", "schemaVersion": "\(version)"])
            try await serve(store: store, ca: ca, serverIdentity: serverIdentity, dataDir: dataDir, listenURL: listenURL)
        } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
        try? FileManager.default.removeItem(at: listenURL)
        // The data dir lock must be held until the store is closed.
        withExtendedLifetime(dataDir) {}
        logger.notice("controller stopped")
    }

    private func serve(store: SQLStore, ca: CertificateAuthority, serverIdentity: (chain: [X509Chain], key: P256Key), dataDir: DataDirectory, listenURL: URL) async throws {
        let tokens = TokenService(store: store)
        _ = try await tokens.ensureAdminToken(file: dataDir.file("admin.token"), logger: logger)
        logger.notice("admin API token", metadata: ["path": "\(dataDir.file("admin.token").path)"])

        let chain = try serverIdentity.chain.map(CertificateTools.nioCertificate)
        let key = try CertificateTools.nioPrivateKey(serverIdentity.key)
        let caNIO = try CertificateTools.nioCertificate(ca.certificate)

        // Both listeners: TLS 1.2+ with AEAD suites only, and a close that waits 1 s at
        // most for a peer's close_notify (ListenerTLS).
        var agentTLS = ListenerTLS.serverConfiguration(certificateChain: chain, privateKey: key)
        agentTLS.certificateVerification = .optionalVerification
        agentTLS.trustRoots = .certificates([caNIO])
        let agentContext = try NIOSSLContext(configuration: agentTLS)

        let apiTLS = ListenerTLS.serverConfiguration(certificateChain: chain, privateKey: key)

        let registry = ConnectionRegistry()
        let registration = RegistrationService(store: store, ca: ca, throttle: RegistrationThrottle(), logger: logger.with(label: "registration"))
        let endpoints = AgentHTTPEndpoints(registration: registration, caPEM: try CertificateTools.pem(ca.certificate), logger: logger.with(label: "gateway"))
        let dispatcher = Dispatcher(store: store, registry: registry, executionMargin: configuration.executionDeadlineMargin, cancelGrace: configuration.cancelGrace, logger: logger.with(label: "dispatcher"))
        let outputs = OutputStore(dataDirectory: dataDir.url, maxStreamBytes: configuration.maxOutputBytes)
        let baselines = BaselineService(store: store)
        let compliance = ComplianceService(store: store, baselines: baselines)
        let reports = InvocationReports(store: store, outputs: outputs, dispatcher: dispatcher, logger: logger.with(label: "dispatcher"),
                                        sinks: ResultPayloadSinks.none.adding(PatchReport.kind, compliance))
        // Agents coming, going and deregistered: the gateway closes a deregistered
        // agent's channel first, then the dispatcher ends its invocations.
        let events = FleetEvents()
        let sessions = AgentSessionHandler(store: store, registry: registry, ca: ca, heartbeatInterval: configuration.heartbeatInterval,
                                           heartbeatTimeout: configuration.heartbeatTimeout, reports: reports, events: events, logger: logger.with(label: "gateway"))
        events.subscribe(sessions)
        events.subscribe(dispatcher)
        let gateway = AgentGateway(host: configuration.agentListen.host, port: configuration.agentListen.port, sslContext: agentContext, limits: configuration.agentChannel, connections: configuration.agentConnections, sessions: sessions, endpoints: endpoints, logger: logger.with(label: "gateway"))
        let documents = DocumentService(store: store, actions: configuration.stepActions)
        let presence = PresenceMonitor(registry: registry, store: store, events: events, heartbeatTimeout: .milliseconds(Int64(configuration.heartbeatTimeout * 1000)),
                                       deregistrationCheckInterval: .milliseconds(Int64(configuration.deregistrationCheckInterval * 1000)), logger: logger.with(label: "presence"))

        let api = OperatorAPI(
            activations: ActivationService(store: store, caFingerprint: ca.fingerprint),
            instances: InstanceService(store: store, registry: registry, events: events),
            tokens: tokens,
            documents: documents,
            commands: CommandService(store: store, documents: documents, dispatcher: dispatcher, outputs: outputs,
                                     patchRuns: PatchRunVariants(baselines: baselines)),
            baselines: baselines,
            compliance: compliance,
            logger: logger.with(label: "api")
        )
        let apiPort = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: api.makeRouter(),
            server: try .limitedTLS(tlsConfiguration: apiTLS, guard: ConnectionGuard(limits: configuration.apiConnections, listener: .api, logger: logger.with(label: "api"))),
            configuration: .init(address: .hostname(configuration.apiListen.host, port: configuration.apiListen.port), serverName: "tender-controller", backlog: 1_024),
            onServerRunning: { channel in
                apiPort.continuation.yield(channel.localAddress?.port ?? 0)
                apiPort.continuation.finish()
            },
            logger: logger.with(label: "api")
        )

        var groupConfiguration = ServiceGroupConfiguration(
            // Stopped in reverse order, so the agents' gateway goes last: agents are told
            // "going away" just before the process exits, not while the rest drains,
            // and their reconnect backoff does not grow against a listener that is gone.
            services: [.init(service: gateway), .init(service: presence), .init(service: DispatcherLoop(dispatcher: dispatcher, interval: .seconds(1))), .init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        // A peer that never finishes closing must not keep the controller from stopping.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(15)
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfiguration)
        let fingerprint = ca.fingerprint
        let logger = self.logger
        // Writes listen.json once both listeners are bound. It waits on streams that a
        // failed start never completes, so it is cancelled when the group ends.
        let ready = Task {
            var agentPort: Int?
            for await address in gateway.listeningAddress { agentPort = address?.port }
            var boundAPI: Int?
            for await port in apiPort.stream { boundAPI = port }
            guard !Task.isCancelled, let agentPort, let boundAPI else { return }
            let info = ListenInfo(agentPort: agentPort, apiPort: boundAPI, caFingerprint: fingerprint, pid: getpid())
            do {
                try SecureFile.write(try JSON.encoder().encode(info), to: listenURL, mode: 0o644)
            } catch {
                logger.error("could not write \(listenURL.path)", metadata: ["error": "\(error)"])
            }
            logger.notice("controller ready", metadata: ["agents": "\(configuration.agentListen.host):\(agentPort)", "api": "https://\(configuration.apiListen.host):\(boundAPI)"])
        }
        defer { ready.cancel() }
        try await group.run()
    }
}

typealias X509Chain = X509.Certificate
typealias P256Key = P256.Signing.PrivateKey

extension Logger {
    func with(label: String) -> Logger {
        var copy = Logger(label: label, factory: { _ in self.handler })
        copy.logLevel = logLevel
        return copy
    }
}

import Crypto
import X509
