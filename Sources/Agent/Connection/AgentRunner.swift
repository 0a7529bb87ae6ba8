import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationEssentialsCompat
import NIOSSL
import NIOWebSocket
import TenderWire
import X509

/// `tender-agent run`: keeps the channel to the controller up for as long as the
/// process lives, reconnecting with capped exponential backoff and full jitter,
/// and stops for good only when the controller says the instance was deregistered.
public final class AgentRunner: Sendable {
    /// Why `run()` returned for good.
    public struct Deregistered: Error, Sendable, CustomStringConvertible {
        public var instanceID: String
        public var message: String
        public var description: String { message }
    }

    /// The certificate ran out; only a new registration helps.
    public struct CertificateExpired: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    let state: AgentStateDirectory
    let logger: Logger
    let backoffBase: Double
    let backoffCap: Double
    /// Invocations the agent runs at once; the rest wait their turn.
    let maxConcurrentInvocations: Int
    /// What a script's exit code 194 runs.
    let rebootCommand: [String]
    /// Who runs each step action.
    let runners: StepRunners
    /// The root patch runs act on, whose system the hello reports.
    let packageRoot: String
    private let codec = ChannelCodec()
    /// When the outstanding renewal request was sent, if one is.
    private let renewalRequested = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    /// The certificate in use, kept in memory so the heartbeat loop's renewal check costs no I/O.
    private let currentCertificate = NIOLockedValueBox<Certificate?>(nil)
    private let status = NIOLockedValueBox<AgentStatus>(AgentStatus(state: "starting", since: Date(), pid: ProcessInfo.processInfo.processIdentifier, lastError: nil))

    public init(state: AgentStateDirectory, logger: Logger, backoffBase: Double = Backoff.defaultBase, backoffCap: Double = Backoff.defaultCap,
                maxConcurrentInvocations: Int = AgentWorker.defaultMaxConcurrent,
                rebootCommand: [String] = AgentWorker.defaultRebootCommand, runners: StepRunners = .standard, packageRoot: String = "/") {
        self.packageRoot = packageRoot
        self.rebootCommand = rebootCommand
        self.runners = runners
        self.state = state
        self.logger = logger
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
        self.maxConcurrentInvocations = maxConcurrentInvocations
    }

    public func run() async throws {
        let identity = try state.loadIdentity()
        let controller = try ControllerURL(parsing: identity.controller)
        var backoff = Backoff(base: backoffBase, cap: backoffCap)
        var logger = self.logger
        logger[metadataKey: "instance"] = "\(identity.instanceId)"
        logger.info("starting", metadata: ["controller": "\(controller)", "version": "\(TenderVersion.current)"])
        // One worker for the process: its work outlives any one connection.
        var executor = InvocationExecutor()
        executor.runners = runners
        let worker = try AgentWorker(state: state, maxConcurrent: maxConcurrentInvocations,
                                     environment: ["TENDER_INSTANCE_ID": identity.instanceId], executor: executor,
                                     rebootCommand: rebootCommand, logger: logger)
        try await worker.start()
        while !Task.isCancelled {
            let connectedFor: Duration
            let started = ContinuousClock.now
            do {
                try await session(identity: identity, controller: controller, worker: worker, logger: logger)
                connectedFor = .now - started
            } catch let error as Deregistered {
                setStatus("deregistered", error: error.message)
                throw error
            } catch let error as CertificateExpired {
                setStatus("certificate expired", error: error.message)
                throw error
            } catch is CancellationError {
                break
            } catch {
                connectedFor = .now - started
                let text = Self.describe(error)
                logger.warning("channel down", metadata: ["error": "\(text)"])
                setStatus("disconnected", error: text)
            }
            // A session that lasted a while was healthy: the backoff starts over.
            let wait = backoff.next(afterSessionOf: connectedFor)
            logger.info("reconnecting", metadata: ["in": "\((wait * 10).rounded() / 10)s"])
            try? await Task.sleep(for: .seconds(wait))
        }
        setStatus("stopped", error: nil)
    }

    private func tlsConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try CertificateTools.nioCertificate(try state.loadCA())])
        // The only trust root is the pinned fleet CA, and it gives the serverAuth usage
        // only to the controller (agents' certificates are clientAuth only), so the
        // chain proves it is the controller whatever address the agent dialled:
        // an IP, a load balancer's name, or through a proxy.
        tls.certificateVerification = .noHostnameVerification
        // A controller that went silent must not delay the reconnect.
        tls.shutdownTimeout = .seconds(1)
        let certificate = try state.loadCertificate()
        if certificate.notValidAfter < Date() {
            // It can never connect again: say so and stop rather than retry forever.
            throw CertificateExpired(message: "this agent's certificate expired at \(ISOTime.format(certificate.notValidAfter)) (it was offline too long to renew); register it again with a new activation (tender-agent register --force ...)")
        }
        currentCertificate.withLockedValue { $0 = certificate }
        tls.certificateChain = [.certificate(try CertificateTools.nioCertificate(certificate))]
        tls.privateKey = .privateKey(try CertificateTools.nioPrivateKey(try state.loadKey()))
        return tls
    }

    /// One connection, from connect to close. Returns or throws when it ends.
    private func session(identity: AgentIdentity, controller: ControllerURL, worker: AgentWorker, logger: Logger) async throws {
        setStatus("connecting", error: nil)
        let client = ControllerClient(controller: controller, proxy: try ProxySettings.fromEnvironment(for: controller), tls: try tlsConfiguration())
        let ws: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>
        switch try await client.openChannel() {
        case .websocket(let channel):
            ws = channel
        case .refused(let result):
            let error = (try? JSONDecoder().decode(ErrorResponse.self, from: result.body))?.tenderError
            if result.status == .forbidden, error?.code == .instanceDeregistered {
                throw Deregistered(instanceID: identity.instanceId, message: error?.message ?? "instance deregistered")
            }
            throw TenderError(.unavailable, "controller refused the channel (HTTP \(result.status.code)): \(error?.message ?? String(decoding: result.body, as: UTF8.self))")
        }
        do {
            try await converse(ws, identity: identity, worker: worker, logger: logger)
        } catch {
            // Whatever ended the session, the worker must stop writing to it.
            await worker.disconnected()
            throw error
        }
        await worker.disconnected()
    }

    /// Hello, welcome, then frames until the channel ends (always by throwing).
    private func converse(_ ws: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, identity: AgentIdentity, worker: AgentWorker, logger: Logger) async throws {
        try await ws.executeThenClose { inbound, outbound in
            let host = HostInfo.current(packageRoot: packageRoot)
            let hello = Hello(protocolVersions: ChannelProtocol.supportedVersions, agentVersion: TenderVersion.current, platformName: host.platformName, platformVersion: host.platformVersion,
                              hostname: host.hostname, ipAddresses: host.ipAddresses, platformId: host.platformID, platformIdLike: host.platformIDLike)
            try await send(.hello(hello), outbound)
            var iterator = inbound.makeAsyncIterator()
            let welcome = try await awaitWelcome(&iterator, identity: identity)
            setStatus("connected", error: nil)
            logger.info("connected", metadata: ["protocol": "\(welcome.protocolVersion)"])
            try await renewCertificateIfDue(outbound, logger: logger)

            let lastHeard = NIOLockedValueBox(ContinuousClock.now)
            // Clamped: a value from the wire must not trap the conversion or stall the loop.
            let interval = Duration.milliseconds(Int64(min(60, max(0.2, welcome.heartbeatIntervalSeconds)) * 1000))
            let timeout = Duration.milliseconds(Int64(min(300, max(1, welcome.heartbeatTimeoutSeconds)) * 1000))
            let silent = NIOLockedValueBox(false)
            let channel = ws.channel
            // Heartbeats out, and a watchdog: a controller silent past the timeout is
            // gone, so the channel is closed, which ends the read loop below.
            let heartbeat = Task {
                var beats = 0
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    beats += 1
                    // Connecting is over once a few heartbeats went by: give back the
                    // pages only start-up and connecting needed; then now and again,
                    // for those the last commands needed.
                    if beats % 150 == 5 { AgentRuntime.releaseStartupPages() }
                    if ContinuousClock.now - lastHeard.withLockedValue({ $0 }) > timeout {
                        silent.withLockedValue { $0 = true }
                        try await channel.close()
                        return
                    }
                    try await outbound.write(WebSocketFrame(fin: true, opcode: .ping, maskKey: .random(), data: ByteBuffer()))
                    try await self.renewCertificateIfDue(outbound, logger: logger)
                }
            }
            defer { heartbeat.cancel() }
            // From here on the worker reports through this session (and resends what
            // the controller has not confirmed).
            await worker.connected(sender: { message in try await self.send(message, outbound) })
            do {
                while let frame = try await iterator.next() {
                    lastHeard.withLockedValue { $0 = .now }
                    switch frame.opcode {
                    case .ping:
                        try await outbound.write(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData))
                    case .text:
                        try await self.handle(frame.unmaskedData, identity: identity, worker: worker, logger: logger)
                    case .connectionClose:
                        var data = frame.unmaskedData
                        let code = data.readInteger(as: UInt16.self)
                        let reason = data.readString(length: data.readableBytes) ?? ""
                        if code == ChannelProtocol.closeDeregistered {
                            throw Deregistered(instanceID: identity.instanceId, message: "instance \(identity.instanceId) was deregistered by the controller")
                        }
                        throw TenderError(.unavailable, "controller closed the channel (\(code.map(String.init) ?? "no code")\(reason.isEmpty ? "" : ": " + reason))")
                    default:
                        break
                    }
                }
            } catch let error as Deregistered {
                throw error
            } catch {
                if silent.withLockedValue({ $0 }) { throw TenderError(.unavailable, "controller silent for more than \(welcome.heartbeatTimeoutSeconds) s") }
                throw error
            }
            if silent.withLockedValue({ $0 }) { throw TenderError(.unavailable, "controller silent for more than \(welcome.heartbeatTimeoutSeconds) s") }
            throw TenderError(.unavailable, "connection closed by the controller")
        }
    }

    private func awaitWelcome(_ iterator: inout NIOAsyncChannelInboundStream<WebSocketFrame>.AsyncIterator, identity: AgentIdentity) async throws -> Welcome {
        while let frame = try await iterator.next() {
            switch frame.opcode {
            case .text:
                let (message, _) = try codec.decode(Data(buffer: frame.unmaskedData))
                switch message {
                case .welcome(let welcome): return welcome
                case .deregistered(let notice): throw Deregistered(instanceID: identity.instanceId, message: notice.message)
                case .error(let notice): throw TenderError(.init(notice.code), notice.message)
                default: continue
                }
            case .connectionClose:
                var data = frame.unmaskedData
                if data.readInteger(as: UInt16.self) == ChannelProtocol.closeDeregistered {
                    throw Deregistered(instanceID: identity.instanceId, message: "instance \(identity.instanceId) was deregistered by the controller")
                }
                throw TenderError(.unavailable, "controller closed the channel before welcome")
            default:
                continue
            }
        }
        throw TenderError(.unavailable, "connection closed before welcome")
    }

    private func handle(_ text: ByteBuffer, identity: AgentIdentity, worker: AgentWorker, logger: Logger) async throws {
        let message: ChannelMessage
        do {
            (message, _) = try codec.decode(Data(buffer: text))
        } catch {
            logger.warning("malformed message from controller", metadata: ["error": "\(error)"])
            return
        }
        switch message {
        case .deregistered(let notice):
            throw Deregistered(instanceID: identity.instanceId, message: notice.message)
        case .certificateRenewed(let renewal):
            let certificate = try Certificate(pemEncoded: renewal.certificate)
            guard certificate.publicKey == Certificate.PublicKey(try state.loadKey().publicKey),
                  CertificateTools.instanceID(of: certificate) == identity.instanceId else {
                logger.error("controller sent a renewed certificate that does not match this agent; keeping the old one")
                return
            }
            try state.saveCertificate(renewal.certificate)
            currentCertificate.withLockedValue { $0 = certificate }
            renewalRequested.withLockedValue { $0 = nil }
            logger.notice("certificate renewed", metadata: ["notAfter": "\(ISOTime.format(certificate.notValidAfter))"])
        case .runInvocation(let run):
            await worker.receive(run)
        case .resultStored(let ref):
            await worker.confirmed(ref.invocationId)
        case .outputWanted(let wanted):
            await worker.outputWanted(wanted)
        case .cancelInvocation(let ref):
            await worker.cancel(ref.invocationId)
        case .error(let notice):
            logger.warning("controller reported an error", metadata: ["code": "\(notice.code)", "message": "\(notice.message)"])
        default:
            logger.debug("ignoring message", metadata: ["type": "\(message.type)"])
        }
    }

    /// True once less than a third of the certificate's lifetime is left: early enough
    /// that an agent offline for a while still renews before it expires.
    static func renewalDue(_ certificate: Certificate, now: Date = Date()) -> Bool {
        let lifetime = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore)
        return certificate.notValidAfter.timeIntervalSince(now) < lifetime / 3
    }

    /// Asks for a new certificate (same key) over the channel when one is due and no
    /// request is outstanding (an unanswered request is repeated after a minute).
    private func renewCertificateIfDue(_ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, logger: Logger) async throws {
        guard let certificate = currentCertificate.withLockedValue({ $0 }), Self.renewalDue(certificate) else { return }
        let now = ContinuousClock.now
        let shouldAsk = renewalRequested.withLockedValue { last -> Bool in
            if let last, now - last < .seconds(60) { return false }
            last = now
            return true
        }
        guard shouldAsk else { return }
        logger.info("certificate expires soon, asking for a new one", metadata: ["notAfter": "\(ISOTime.format(certificate.notValidAfter))"])
        let csr = try CertificateTools.makeCSR(key: try state.loadKey(), commonName: "tender-agent")
        try await send(.renewCertificate(CertificateRenewalRequest(csr: csr)), outbound)
    }

    private func send(_ message: ChannelMessage, _ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>) async throws {
        let data = try codec.encode(message)
        try await outbound.write(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: data)))
    }

    private func setStatus(_ value: String, error: String?) {
        let snapshot = status.withLockedValue { status -> AgentStatus in
            if status.state != value { status.since = Date() }
            status.state = value
            status.lastError = error
            return status
        }
        try? SecureFile.write(try JSON.encoder(pretty: true).encode(snapshot), to: state.statusFile, mode: 0o644)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? TenderError { return error.message }
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        if let error = error as? BoringSSLError { return "TLS: \(error)" }
        return "\(error)"
    }
}

extension AgentStateDirectory {
    public func loadStatus() -> AgentStatus? {
        guard let data = try? Data(contentsOf: statusFile) else { return nil }
        return try? JSON.decoder().decode(AgentStatus.self, from: data)
    }
}
