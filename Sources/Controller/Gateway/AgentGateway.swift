import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import ServiceLifecycle
import TenderWire
import X509

/// The agents' listener. One TLS port serves both registration (server-authenticated
/// TLS, no client certificate yet) and the agent channel (WebSocket that requires a
/// client certificate from the fleet CA): the client certificate is optional at the
/// handshake and required by the `/v1/agent` endpoint.
public final class AgentGateway: Service {
    enum UpgradeResult: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, instanceID: String, certificate: X509.Certificate, liveness: Liveness)
        case http(NIOAsyncChannel<HTTPServerRequestPart, HTTPPart<HTTPResponseHead, ByteBuffer>>)
    }

    let host: String
    let port: Int
    let sslContext: NIOSSLContext
    let limits: AgentChannelLimits
    /// Deadlines and caps of the listener's connections (until the WebSocket upgrade).
    let connections: ConnectionLimits
    let sessions: AgentSessionHandler
    let endpoints: AgentHTTPEndpoints
    let logger: Logger
    let group: any EventLoopGroup
    private let boundAddress: AsyncStream<SocketAddress?>.Continuation
    /// Yields the bound address once listening (or nil if binding failed).
    public let listeningAddress: AsyncStream<SocketAddress?>

    init(host: String, port: Int, sslContext: NIOSSLContext, limits: AgentChannelLimits = AgentChannelLimits(), connections: ConnectionLimits = .agents, sessions: AgentSessionHandler, endpoints: AgentHTTPEndpoints, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.host = host
        self.port = port
        self.sslContext = sslContext
        self.limits = limits
        self.connections = connections
        self.sessions = sessions
        self.endpoints = endpoints
        self.logger = logger
        self.group = group
        (self.listeningAddress, self.boundAddress) = AsyncStream.makeStream(of: SocketAddress?.self)
    }

    public func run() async throws {
        let sslContext = self.sslContext
        let logger = self.logger
        let limits = self.limits
        let connectionGuard = ConnectionGuard(limits: connections, listener: .agents, logger: logger)
        let server: NIOAsyncChannel<EventLoopFuture<UpgradeResult>, Never>
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 4096)
                .serverChannelOption(.maxMessagesPerRead, value: 64)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Self.configure(channel: channel, sslContext: sslContext, limits: limits, connectionGuard: connectionGuard, logger: logger)
                    }
                }
        } catch {
            boundAddress.yield(nil)
            boundAddress.finish()
            throw TenderError(.unavailable, "cannot listen for agents on \(host):\(port): \(error)")
        }
        boundAddress.yield(server.channel.localAddress)
        boundAddress.finish()
        logger.notice("listening for agents", metadata: ["address": "\(server.channel.localAddress.map { "\($0)" } ?? "?")"])

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await upgrade in inbound {
                        group.addTask { await self.handle(upgrade) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
            self.sessions.closeAll()
        }
    }

    /// A connection that sends nothing for this long (no TLS hello, a stalled request,
    /// a dead agent) is closed, so idle or hostile sockets cannot pile up.
    static let idleTimeout: TimeAmount = .seconds(30)

    /// The name of the connection's `ConnectionDeadlineHandler`, removed once it is an agent channel.
    static let deadlineHandlerName = "tender.connection-deadlines"

    private static func configure(channel: any Channel, sslContext: NIOSSLContext, limits: AgentChannelLimits, connectionGuard: ConnectionGuard, logger: Logger) throws -> EventLoopFuture<UpgradeResult> {
        // Over the connection caps: closed here, before TLS.
        try channel.pipeline.syncOperations.addHandler(connectionGuard.makeCapHandler())
        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
        try channel.pipeline.syncOperations.addHandler(CloseOnIdleHandler())
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
        // Absolute handshake and request deadlines (the idle handler above is reset by
        // every byte); learns about requests from the observer behind the HTTP codec.
        try channel.pipeline.syncOperations.addHandler(connectionGuard.makeDeadlineHandler(), name: deadlineHandlerName)
        try channel.pipeline.syncOperations.addHandler(ReadCopyHandler())
        try channel.pipeline.syncOperations.addHandler(TLSFailureLogger(logger: logger))
        let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
            maxFrameSize: ChannelProtocol.maxFrameSize,
            shouldUpgrade: { channel, head in
                // Only the channel path upgrades, and only with a fleet client certificate
                // naming an instance; everything else gets an HTTP answer explaining why.
                guard head.uri == AgentPaths.channel, Self.instanceID(of: channel) != nil else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    guard let instanceID = Self.instanceID(of: channel), let certificate = Self.peerCertificate(of: channel) else {
                        throw TenderError(.unauthorized, "client certificate names no instance")
                    }
                    // Flow control, on frames as they arrive (before fragments are joined):
                    // reading stops while the agent does not take what is written to it,
                    // writes are bounded, and floods are cut off.
                    var channelLogger = logger
                    channelLogger[metadataKey: "instance"] = "\(instanceID)"
                    let liveness = Liveness()
                    try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
                    try channel.pipeline.syncOperations.addHandler(PendingWriteLimiter(maxPendingBytes: limits.maxPendingBytes, logger: channelLogger))
                    try channel.pipeline.syncOperations.addHandler(FloodGuard(limits: limits, logger: channelLogger))
                    try channel.pipeline.syncOperations.addHandler(
                        NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 256, maxAccumulatedFrameSize: ChannelProtocol.maxFrameSize)
                    )
                    try channel.pipeline.syncOperations.addHandler(HeartbeatResponder(liveness: liveness))
                    let ws = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel)
                    return UpgradeResult.websocket(ws, instanceID: instanceID, certificate: certificate, liveness: liveness)
                }
            }
        )
        let configuration = NIOTypedHTTPServerUpgradeConfiguration(
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTPResponsePartAdapter())
                    try channel.pipeline.syncOperations.addHandler(AgentRequestPhaseObserver())
                    let http = try NIOAsyncChannel<HTTPServerRequestPart, HTTPPart<HTTPResponseHead, ByteBuffer>>(wrappingChannelSynchronously: channel)
                    return UpgradeResult.http(http)
                }
            }
        )
        let upgraded = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
            configuration: .init(upgradeConfiguration: configuration)
        )
        // An agent channel's liveness is the heartbeats' business from here on.
        return upgraded.map { result in
            if case .websocket = result {
                channel.pipeline.syncOperations.removeHandler(name: deadlineHandlerName, promise: nil)
            }
            return result
        }
    }

    /// The same, from outside the channel's event loop.
    static func instanceID(ofChannel channel: any Channel) async -> String? {
        guard let nioCert = try? await channel.nioSSL_peerCertificate().get(),
              let cert = try? CertificateTools.certificate(from: nioCert) else { return nil }
        return CertificateTools.instanceID(of: cert)
    }

    /// The instance id in the peer's (already CA-verified) client certificate, if any.
    /// Must be called on the channel's event loop.
    static func instanceID(of channel: any Channel) -> String? {
        peerCertificate(of: channel).flatMap(CertificateTools.instanceID(of:))
    }

    static func peerCertificate(of channel: any Channel) -> X509.Certificate? {
        guard let nioCert = try? channel.pipeline.syncOperations.nioSSL_peerCertificate() else { return nil }
        return try? CertificateTools.certificate(from: nioCert)
    }

    private func handle(_ upgrade: EventLoopFuture<UpgradeResult>) async {
        do {
            switch try await upgrade.get() {
            case .websocket(let channel, let instanceID, let certificate, let liveness):
                await sessions.run(channel: channel, instanceID: instanceID, certificate: certificate, liveness: liveness)
            case .http(let channel):
                await endpoints.serve(channel)
            }
        } catch {
            // TLS failures were already logged with their reason by TLSFailureLogger.
            logger.debug("agent connection ended before it was set up", metadata: ["error": "\(error)"])
        }
    }
}

/// Logs why a TLS handshake failed, in words an operator can act on (the most
/// common case is an agent presenting a certificate from another fleet's CA).
final class TLSFailureLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let text = String(describing: error)
        let peer = context.channel.remoteAddress?.ipAddress ?? "?"
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("UNKNOWN_CA") || text.contains("certificate") {
            logger.warning("refused an agent's TLS handshake: its client certificate was not issued by this fleet's CA (or is invalid)", metadata: ["peer": "\(peer)", "error": "\(text)"])
        } else if error is NIOSSLError || error is BoringSSLError {
            logger.info("TLS handshake with an agent failed", metadata: ["peer": "\(peer)", "error": "\(text)"])
        }
        context.fireErrorCaught(error)
    }
}

/// Adapts `HTTPPart<HTTPResponseHead, ByteBuffer>` to NIO's server response parts.
final class HTTPResponsePartAdapter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPPart<HTTPResponseHead, ByteBuffer>
    typealias OutboundOut = HTTPServerResponsePart

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch Self.unwrapOutboundIn(data) {
        case .head(let head): context.write(Self.wrapOutboundOut(.head(head)), promise: promise)
        case .body(let buffer): context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: promise)
        case .end(let trailers): context.write(Self.wrapOutboundOut(.end(trailers)), promise: promise)
        }
    }
}
