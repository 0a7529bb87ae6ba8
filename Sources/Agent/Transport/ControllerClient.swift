#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import TenderWire

/// Opens connections to the controller's agent listener: TCP, through the proxy if
/// one is set, then TLS; on top either one HTTP request or the WebSocket channel.
struct ControllerClient: Sendable {
    let controller: ControllerURL
    let proxy: ProxySettings?
    let tls: TLSConfiguration
    let group: any EventLoopGroup
    let connectTimeout: TimeAmount

    init(controller: ControllerURL, proxy: ProxySettings?, tls: TLSConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, connectTimeout: TimeAmount = .seconds(10)) {
        self.controller = controller
        self.proxy = proxy
        self.tls = tls
        self.group = group
        self.connectTimeout = connectTimeout
    }

    struct HTTPResult: Sendable {
        var status: HTTPResponseStatus
        var body: Data
    }

    enum ChannelResult: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case refused(HTTPResult)
    }

    /// SNI and hostname verification need a name; an IP literal is matched by address.
    private var serverHostname: String? {
        IPAddressText.isIPAddress(controller.host) ? nil : controller.host
    }

    /// Silence after which a connection is given up: the controller answers every
    /// heartbeat within seconds, so this only fires on a stalled peer or proxy.
    static let readTimeout: TimeAmount = .seconds(30)

    private func addTransportHandlers(_ channel: any Channel, context: NIOSSLContext, proxyFailure: NIOLockedValueBox<TenderError?>) throws {
        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: Self.readTimeout))
        try channel.pipeline.syncOperations.addHandler(CloseOnIdleHandler())
        if let proxy {
            try channel.pipeline.syncOperations.addHandler(ProxyConnectHandler(targetHost: controller.host, targetPort: controller.port, credentials: proxy.credentials, failure: proxyFailure))
        }
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname))
    }

    private var bootstrap: ClientBootstrap {
        ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
    }

    private var dialHost: String { proxy?.host ?? controller.host }
    private var dialPort: Int { proxy?.port ?? controller.port }

    /// One HTTP request; the connection is closed afterwards.
    func request(method: HTTPMethod, path: String, body: Data? = nil, maxResponseSize: Int = 1 << 20) async throws -> HTTPResult {
        let proxyFailure = NIOLockedValueBox<TenderError?>(nil)
        do {
            return try await request(method: method, path: path, body: body, maxResponseSize: maxResponseSize, proxyFailure: proxyFailure)
        } catch {
            // A refusing proxy shows up as a closed channel; say what really happened.
            if let failure = proxyFailure.withLockedValue({ $0 }) { throw failure }
            throw error
        }
    }

    private func request(method: HTTPMethod, path: String, body: Data?, maxResponseSize: Int, proxyFailure: NIOLockedValueBox<TenderError?>) async throws -> HTTPResult {
        let context = try NIOSSLContext(configuration: tls)
        let host = controller.description.replacing("https://", with: "")
        let channel = try await bootstrap.connect(host: dialHost, port: dialPort) { channel in
            channel.eventLoop.makeCompletedFuture {
                try addTransportHandlers(channel, context: context, proxyFailure: proxyFailure)
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: host)
            headers.add(name: "User-Agent", value: "tender-agent/\(TenderVersion.current)")
            headers.add(name: "Connection", value: "close")
            if let body {
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: String(body.count))
            }
            try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)))
            if let body { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            return try await Self.readResponse(inbound, maxSize: maxResponseSize)
        }
    }

    static func readResponse(_ inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>, maxSize: Int) async throws -> HTTPResult {
        var status: HTTPResponseStatus?
        var body = ByteBuffer()
        for try await part in inbound {
            switch part {
            case .head(let head): status = head.status
            case .body(var chunk):
                guard body.readableBytes + chunk.readableBytes <= maxSize else {
                    throw TenderError(.tooLarge, "controller response larger than \(maxSize) bytes")
                }
                body.writeBuffer(&chunk)
            case .end:
                guard let status else { throw TenderError(.unavailable, "controller sent no response head") }
                return HTTPResult(status: status, body: Data(buffer: body))
            }
        }
        throw TenderError(.unavailable, "controller closed the connection before answering")
    }

    /// Opens the agent channel (WebSocket on `/v1/agent`); a declined upgrade is
    /// returned with the controller's answer so the caller can say why.
    func openChannel() async throws -> ChannelResult {
        let proxyFailure = NIOLockedValueBox<TenderError?>(nil)
        do {
            return try await openChannel(proxyFailure: proxyFailure)
        } catch {
            if let failure = proxyFailure.withLockedValue({ $0 }) { throw failure }
            throw error
        }
    }

    private func openChannel(proxyFailure: NIOLockedValueBox<TenderError?>) async throws -> ChannelResult {
        let context = try NIOSSLContext(configuration: tls)
        let host = controller.description.replacing("https://", with: "")
        let upgrade: EventLoopFuture<UpgradeOutcome> = try await bootstrap.connect(host: dialHost, port: dialPort) { channel in
            channel.eventLoop.makeCompletedFuture {
                try addTransportHandlers(channel, context: context, proxyFailure: proxyFailure)
                let upgrader = NIOTypedWebSocketClientUpgrader<UpgradeOutcome>(
                    maxFrameSize: ChannelProtocol.maxFrameSize,
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 256, maxAccumulatedFrameSize: ChannelProtocol.maxFrameSize)
                            )
                            return UpgradeOutcome.websocket(try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel))
                        }
                    }
                )
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: host)
                headers.add(name: "User-Agent", value: "tender-agent/\(TenderVersion.current)")
                headers.add(name: "Content-Length", value: "0")
                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: AgentPaths.channel, headers: headers)
                let configuration = NIOTypedHTTPClientUpgradeConfiguration(
                    upgradeRequestHead: head,
                    upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            UpgradeOutcome.http(try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel))
                        }
                    }
                )
                return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: .init(upgradeConfiguration: configuration))
            }
        }
        switch try await upgrade.get() {
        case .websocket(let ws):
            return .websocket(ws)
        case .http(let http):
            let result = try await http.executeThenClose { inbound, _ in
                try await Self.readResponse(inbound, maxSize: 64 * 1024)
            }
            return .refused(result)
        }
    }

    enum UpgradeOutcome: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case http(NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>)
    }
}

enum IPAddressText {
    static func isIPAddress(_ text: String) -> Bool {
        (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }
}
