import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOWebSocket
import TenderAPI
import TenderWire
import X509

/// Runs one agent's channel from hello to close: protocol negotiation, identity
/// check against the registry, heartbeats, certificate renewal, and the status
/// changes operators see as `pingStatus`.
final class AgentSessionHandler: FleetEventSubscriber {
    let store: any InstanceStore
    let registry: ConnectionRegistry
    let ca: CertificateAuthority
    let heartbeatInterval: Double
    let heartbeatTimeout: Double
    let logger: Logger
    /// Where agents' reports on their work go (nil: this controller runs no commands).
    let reports: InvocationReports?
    /// Told when an agent comes online or goes offline here.
    let events: FleetEvents
    private let codec = ChannelCodec()
    /// Agents coming and going, written in batches and in the order they happened:
    /// a controller restart brings thousands of hellos within seconds.
    private let presence: WriteCoalescer<PresenceChange, Void>

    enum PresenceChange: Sendable {
        case online(instanceID: String, report: AgentReport)
        case offline(instanceID: String)
    }

    init(store: any InstanceStore, registry: ConnectionRegistry, ca: CertificateAuthority, heartbeatInterval: Double, heartbeatTimeout: Double, reports: InvocationReports? = nil, events: FleetEvents, logger: Logger) {
        self.events = events
        presence = WriteCoalescer { changes in
            let now = Date()
            // Runs of the same kind keep their order; each run is one transaction.
            var index = changes.startIndex
            while index < changes.endIndex {
                if case .online = changes[index] {
                    var hellos: [(instanceID: String, report: AgentReport)] = []
                    while index < changes.endIndex, case .online(let id, let report) = changes[index] {
                        hellos.append((id, report))
                        index += 1
                    }
                    try await store.recordHellos(hellos, at: now)
                } else {
                    var ids: [String] = []
                    while index < changes.endIndex, case .offline(let id) = changes[index] {
                        ids.append(id)
                        index += 1
                    }
                    try await store.setPingStatus(instanceIDs: ids, status: .connectionLost, at: now)
                }
            }
            return Array(repeating: (), count: changes.count)
        }
        self.reports = reports
        self.store = store
        self.registry = registry
        self.ca = ca
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.logger = logger
    }

    /// `liveness` is kept current by the channel's `HeartbeatResponder`, which also
    /// answers pings, so this loop only ever sees the agent's messages.
    func run(channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, instanceID: String, certificate: Certificate, liveness: Liveness) async {
        let certificateSerial = certificate.serialNumber.description
        var logger = self.logger
        logger[metadataKey: "instance"] = "\(instanceID)"
        let connectionID = registry.makeConnectionID()
        let peer = channel.channel.remoteAddress?.ipAddress
        var registered = false
        do {
            try await channel.executeThenClose { inbound, outbound in
                // Identity first: a deregistered (revoked) instance is refused before anything else.
                guard let instance = try await store.instance(id: instanceID), instance.state == .active else {
                    logger.notice("refused channel of a deregistered instance")
                    try await send(.deregistered(Notice(code: TenderError.Code.instanceDeregistered.rawValue, message: "instance \(instanceID) was deregistered")), outbound)
                    try await close(outbound, code: ChannelProtocol.closeDeregistered, reason: "instance deregistered")
                    return
                }
                // After a renewal only the new certificate (and, while the agent may not
                // have stored it yet, the one before) opens the channel: a copy of an
                // older certificate and key is worthless.
                guard certificateSerial == instance.certificateSerial || certificateSerial == instance.previousCertificateSerial else {
                    logger.warning("refused a replaced client certificate", metadata: ["serial": "\(certificateSerial)", "peer": "\(peer ?? "?")"])
                    try await send(.error(Notice(code: TenderError.Code.forbidden.rawValue, message: "this client certificate was replaced by a renewal; use the current one")), outbound)
                    try await close(outbound, code: ChannelProtocol.closeProtocolError, reason: "replaced certificate")
                    return
                }
                var iterator = inbound.makeAsyncIterator()
                guard let hello = try await waitForHello(&iterator, outbound: outbound, logger: logger) else { return }
                guard let version = Set(hello.protocolVersions).intersection(ChannelProtocol.supportedVersions).max() else {
                    try await send(.error(Notice(code: TenderError.Code.unsupportedProtocol.rawValue, message: "controller speaks protocol versions \(ChannelProtocol.supportedVersions), agent offered \(hello.protocolVersions)")), outbound)
                    try await close(outbound, code: ChannelProtocol.closeProtocolError, reason: "no common protocol version")
                    return
                }
                try await send(.welcome(Welcome(protocolVersion: version, instanceId: instanceID, heartbeatIntervalSeconds: heartbeatInterval, heartbeatTimeoutSeconds: heartbeatTimeout)), outbound)
                try await presence.submit(.online(instanceID: instanceID, report: Self.report(from: hello, peer: peer)))
                if let old = registry.add(instanceID: instanceID, connectionID: connectionID, channel: channel.channel, liveness: liveness) {
                    // Usually a reconnect that beat the old connection's timeout; if it keeps
                    // happening from two addresses, two hosts share one state dir (a cloned image).
                    logger.warning("instance connected again while its previous channel was open; closing the previous one (if this repeats, two hosts may share one agent state dir)", metadata: ["previousPeer": "\(old.remoteAddress?.ipAddress ?? "?")", "peer": "\(peer ?? "?")"])
                    old.close(code: ChannelProtocol.closeSuperseded, reason: "superseded by a newer connection")
                }
                registered = true
                // Work that waited for this agent goes out now (the dispatcher listens).
                await events.publish(.online(instanceID: instanceID))
                logger.info("agent online", metadata: ["agentVersion": "\(hello.agentVersion)", "peer": "\(peer ?? "?")"])
                // A deregistration that raced with this hello must still win.
                if let current = try await store.instance(id: instanceID), current.state != .active {
                    try await sendDeregistered(instanceID: instanceID, outbound)
                    return
                }

                var session = SessionState()
                while let frame = try await iterator.next() {
                    // Pings never get here: `HeartbeatResponder` answers them on the event loop.
                    switch frame.opcode {
                    case .text:
                        try await handle(text: frame.unmaskedData, instanceID: instanceID, key: certificate.publicKey, session: &session, outbound: outbound, logger: logger)
                        if session.malformed > Self.maxMalformedMessages {
                            logger.warning("closed the channel of an agent that keeps sending malformed messages", metadata: ["count": "\(session.malformed)", "peer": "\(peer ?? "?")"])
                            try await close(outbound, code: ChannelProtocol.closeProtocolError, reason: "too many malformed messages")
                            return
                        }
                    case .connectionClose:
                        try? await close(outbound, code: 1000, reason: "")
                        return
                    default:
                        break
                    }
                }
            }
        } catch let error as NIOWebSocketError {
            logger.warning("closed agent channel after a protocol violation", metadata: ["reason": "\(Self.describe(error))"])
        } catch {
            logger.info("agent channel ended", metadata: ["error": "\(error)"])
        }
        if registered, registry.remove(instanceID: instanceID, connectionID: connectionID) {
            logger.info("agent offline")
            await events.publish(.offline(instanceID: instanceID))
            do {
                try await presence.submit(.offline(instanceID: instanceID))
            } catch {
                logger.error("could not record the agent going offline", metadata: ["error": "\(error)"])
            }
        }
    }

    private func waitForHello(_ iterator: inout NIOAsyncChannelInboundStream<WebSocketFrame>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, logger: Logger) async throws -> Hello? {
        while let frame = try await iterator.next() {
            switch frame.opcode {
            case .text:
                let decoded = try? codec.decode(Data(buffer: frame.unmaskedData))
                if case .hello(let hello) = decoded?.message { return hello }
                try await send(.error(Notice(code: TenderError.Code.validation.rawValue, message: "the first message on the channel must be hello")), outbound)
                try await close(outbound, code: ChannelProtocol.closeProtocolError, reason: "expected hello")
                logger.warning("agent did not start with hello")
                return nil
            case .connectionClose:
                return nil
            default:
                continue
            }
        }
        return nil
    }

    /// What one session remembers about its agent's behaviour.
    struct SessionState {
        var malformed = 0
        var lastRenewal: ContinuousClock.Instant?
    }

    /// Malformed messages a session answers before it closes the channel: a real
    /// agent never sends one, so a stream of them is a broken or hostile peer.
    static let maxMalformedMessages = 10
    /// The shortest time between two certificate renewals on one channel: each signs
    /// a certificate and writes the store.
    static let renewalInterval: Duration = .seconds(10)
    /// Per-message warnings at most once per reason every 10 s (a flood must not fill the disk).
    let logThrottle = LogThrottle()

    private func handle(text: ByteBuffer, instanceID: String, key: Certificate.PublicKey, session: inout SessionState,
                        outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, logger: Logger) async throws {
        let message: ChannelMessage
        let id: String?
        do {
            (message, id) = try codec.decode(Data(buffer: text))
        } catch let error as TenderError {
            session.malformed += 1
            logThrottle.log(logger, .warning, reason: "malformed message", "malformed message from agent", metadata: ["error": "\(error.message)"])
            try await send(.error(Notice(code: error.code.rawValue, message: error.message)), outbound)
            return
        }
        switch message {
        case .renewCertificate(let request):
            if let last = session.lastRenewal, ContinuousClock.now - last < Self.renewalInterval {
                try await send(.error(Notice(code: TenderError.Code.tooManyAttempts.rawValue, message: "a certificate was renewed on this channel less than \(Self.renewalInterval) ago")), outbound, id: id)
                return
            }
            session.lastRenewal = .now
            do {
                guard let current = try await store.instance(id: instanceID), current.state == .active else {
                    throw TenderError(.instanceDeregistered, "instance \(instanceID) was deregistered")
                }
                let certificate = try ca.issueClientCertificate(csrPEM: request.csr, instanceID: instanceID, requiredKey: key)
                try await store.updateCertificate(instanceID: instanceID, serial: certificate.serialNumber.description, notAfter: certificate.notValidAfter)
                try await send(.certificateRenewed(CertificateRenewal(certificate: try CertificateTools.pem(certificate))), outbound, id: id)
                logger.notice("renewed agent certificate", metadata: ["serial": "\(certificate.serialNumber)", "notAfter": "\(ISOTime.format(certificate.notValidAfter))"])
            } catch let error as TenderError {
                try await send(.error(Notice(code: error.code.rawValue, message: error.message)), outbound, id: id)
            }
        case .invocationAccepted:
            break
        case .invocationStarted(let ref):
            await reports?.started(ref, instanceID: instanceID)
        case .invocationProgress(let progress):
            await reports?.progress(progress, instanceID: instanceID)
        case .invocationOutput(let chunk):
            await reports?.chunk(chunk, instanceID: instanceID)
        case .invocationResult(let result):
            guard let reports else { break }
            switch await reports.result(result, instanceID: instanceID) {
            case .stored:
                try await send(.resultStored(InvocationRef(invocationId: result.invocationId)), outbound)
            case .needOutput(let wanted):
                try await send(.outputWanted(wanted), outbound)
            case .retry:
                break
            }
        case .unknown(let type):
            logger.debug("ignoring unknown message type", metadata: ["type": "\(type)"])
        default:
            try await send(.error(Notice(code: TenderError.Code.validation.rawValue, message: "unexpected message '\(message.type)' from an agent")), outbound, id: id)
        }
    }

    func send(_ message: ChannelMessage, _ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, id: String? = nil) async throws {
        let data = try codec.encode(message, id: id)
        try await outbound.write(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: data)))
    }

    func close(_ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, code: UInt16, reason: String) async throws {
        try await outbound.write(AgentClose.frame(code: code, reason: reason))
    }

    private func sendDeregistered(instanceID: String, _ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>) async throws {
        try await send(.deregistered(Notice(code: TenderError.Code.instanceDeregistered.rawValue, message: "instance \(instanceID) was deregistered by an operator")), outbound)
        try await close(outbound, code: ChannelProtocol.closeDeregistered, reason: "instance deregistered")
    }

    /// A deregistration closes the instance's channel here, if it has one.
    func fleetEvent(_ event: FleetEvent) async {
        if case .deregistered(let instanceID, _) = event {
            await disconnectDeregistered(instanceID: instanceID)
        }
    }

    /// Tells a connected agent it was deregistered and closes its channel at once,
    /// without waiting on an agent that may not read.
    func disconnectDeregistered(instanceID: String) async {
        await registry.connection(for: instanceID)?.close(
            code: ChannelProtocol.closeDeregistered, reason: "instance deregistered",
            after: .deregistered(Notice(code: TenderError.Code.instanceDeregistered.rawValue, message: "instance \(instanceID) was deregistered by an operator")))
    }

    /// On shutdown: close every channel with "going away" so agents reconnect promptly.
    func closeAll() {
        for connection in registry.allConnections() {
            connection.close(code: 1001, reason: "controller shutting down")
        }
    }

    /// What the agent says about itself, bounded and cleaned: it is shown to operators
    /// in tables, so a compromised host must not be able to inject terminal escapes or
    /// bloat the database.
    static func report(from hello: Hello, peer: String?) -> AgentReport {
        func clean(_ text: String) -> String {
            DisplayText.clean(text, limit: 255)
        }
        let ip = hello.ipAddresses.lazy.compactMap { (try? SocketAddress(ipAddress: $0, port: 0))?.ipAddress }.first ?? peer
        // os-release ids are lower-case letters, digits, . _ -; anything else is not one.
        func identifiers(_ text: String?) -> String? {
            guard let text, !text.isEmpty, text.utf8.count <= 128,
                  text.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || [0x2E, 0x5F, 0x2D, 0x20].contains($0) }) else { return nil }
            return text
        }
        return AgentReport(agentVersion: clean(hello.agentVersion), platformName: clean(hello.platformName),
                           platformVersion: clean(hello.platformVersion), hostname: clean(hello.hostname), ipAddress: ip,
                           platformID: identifiers(hello.platformId), platformIDLike: identifiers(hello.platformIdLike))
    }

    static func describe(_ error: NIOWebSocketError) -> String {
        switch error {
        case .invalidFrameLength: return "frame larger than \(ChannelProtocol.maxFrameSize) bytes"
        default: return "\(error)"
        }
    }
}
