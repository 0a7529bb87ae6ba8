import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import TenderWire

/// One simulated agent's identity: the key and certificate a real registration gave it.
struct SimulatedIdentity: Sendable {
    let instanceID: String
    let tls: NIOSSLContext
}

/// Speaks the agent protocol on one channel the way `tender-agent` does (hello,
/// heartbeat pings, accepted/started/result for each invocation, pong to pings),
/// except that a script "runs" in no time and produces no output. Everything happens
/// on the channel's event loop, so a fleet of thousands costs one handler each.
final class SimulatedAgentHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let index: Int
    let recorder: FleetRecorder
    private let codec = ChannelCodec()
    private var heartbeat: RepeatedTask?
    private(set) var welcomed = false
    private var lastHeard = NIODeadline.now()
    private var timeout = TimeAmount.seconds(7)

    init(index: Int, recorder: FleetRecorder) {
        self.index = index
        self.recorder = recorder
    }

    /// The first frame, sent once the upgrade has finished (as the agent does).
    static func hello(index: Int) throws -> WebSocketFrame {
        let data = try ChannelCodec().encode(.hello(Hello(protocolVersions: ChannelProtocol.supportedVersions, agentVersion: "\(TenderVersion.current)-bench",
                                                          platformName: "Linux", platformVersion: "bench", hostname: "bench-\(index)", ipAddresses: ["127.0.0.1"])))
        return WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: data))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        heartbeat?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        heartbeat?.cancel()
        heartbeat = nil
        // Upgraded but never welcomed: the controller dropped it mid-handshake.
        if !welcomed { recorder.failedHandshake() }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        lastHeard = .now()
        switch frame.opcode {
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)), promise: nil)
        case .text:
            let data = Data(buffer: frame.unmaskedData)
            // Work messages are the hot path of a fan-out: read just the id from them.
            // The rest goes through the agent's own codec.
            if let run = try? JSONDecoder().decode(RunPeek.self, from: data), run.type == "runInvocation" {
                reply(toRun: run.body.invocationId, context: context)
                return
            }
            guard let (message, _) = try? codec.decode(data) else {
                recorder.protocolError(index)
                return
            }
            handle(message, context: context)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    private func handle(_ message: ChannelMessage, context: ChannelHandlerContext) {
        switch message {
        case .welcome(let welcome):
            welcomed = true
            recorder.online(index)
            startHeartbeat(welcome, channel: context.channel)
        case .runInvocation(let run):
            reply(toRun: run.invocationId, context: context)
        case .resultStored:
            recorder.resultStored(index)
        case .outputWanted, .error:
            recorder.protocolError(index)
        case .deregistered:
            context.close(promise: nil)
        default:
            break
        }
    }

    /// What the agent answers to work: accepted (spooled), started, and at once the
    /// result, with no output.
    private func reply(toRun id: String, context: ChannelHandlerContext) {
        recorder.runReceived(index)
        send(.invocationAccepted(InvocationRef(invocationId: id)), context: context, flush: false)
        send(.invocationStarted(InvocationRef(invocationId: id)), context: context, flush: false)
        let now = Date()
        send(.invocationResult(InvocationResult(invocationId: id, status: .success, statusDetails: StatusDetails.success, responseCode: 0,
                                                stdout: "", stderr: "", startedAt: now, endedAt: now, stdoutSize: 0, stderrSize: 0)),
             context: context)
    }

    /// The envelope of a `runInvocation`, reduced to what the simulated agent needs.
    private struct RunPeek: Decodable {
        struct Body: Decodable { var invocationId: String }
        var type: String
        var body: Body
    }

    /// Pings at the interval the controller asked for, with the same jitter-free
    /// cadence as the agent; the first one is spread over an interval so a fleet
    /// that connected together does not ping together. A silent controller is
    /// dropped after the timeout, as the agent does.
    private func startHeartbeat(_ welcome: Welcome, channel: any Channel) {
        let interval = TimeAmount.milliseconds(Int64(min(60, max(0.2, welcome.heartbeatIntervalSeconds)) * 1000))
        timeout = .milliseconds(Int64(min(300, max(1, welcome.heartbeatTimeoutSeconds)) * 1000))
        let first = TimeAmount.nanoseconds(Int64.random(in: 0...interval.nanoseconds))
        let loopBound = NIOLoopBound(self, eventLoop: channel.eventLoop)
        heartbeat?.cancel()
        heartbeat = channel.eventLoop.scheduleRepeatedTask(initialDelay: first, delay: interval) { _ in
            let handler = loopBound.value
            if NIODeadline.now() - handler.lastHeard > handler.timeout {
                channel.close(promise: nil)
                return
            }
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, maskKey: .random(), data: ByteBuffer()), promise: nil)
        }
    }

    private func send(_ message: ChannelMessage, context: ChannelHandlerContext, flush: Bool = true) {
        guard let data = try? codec.encode(message) else { return }
        var buffer = context.channel.allocator.buffer(capacity: data.count)
        buffer.writeBytes(data)
        let frame = wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: buffer))
        if flush {
            context.writeAndFlush(frame, promise: nil)
        } else {
            context.write(frame, promise: nil)
        }
    }
}

/// Opens simulated agents' channels: TCP, TLS with the agent's own client
/// certificate, then the WebSocket upgrade on `/v1/agent`, as `tender-agent` does.
struct SimulatedConnector: Sendable {
    let host: String
    let port: Int
    let group: any EventLoopGroup
    let recorder: FleetRecorder

    enum Outcome: Sendable {
        case upgraded(any Channel)
        case refused(any Channel)
    }

    /// Connects agent `index`; returns its channel once the upgrade is done (the
    /// hello is on its way), or throws.
    /// - Parameter makeHandler: the protocol side, added after the upgrade (a
    ///   well-behaved simulated agent unless told otherwise, e.g. a flooding one).
    func connect(index: Int, identity: SimulatedIdentity,
                 makeHandler: (@Sendable () -> any ChannelHandler)? = nil) async throws -> any Channel {
        let recorder = self.recorder
        let hostHeader = "\(host):\(port)"
        let outcome = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: identity.tls, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(ReadCopyHandler())
                    let upgrader = NIOTypedWebSocketClientUpgrader<Outcome>(
                        maxFrameSize: ChannelProtocol.maxFrameSize,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(
                                    NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 256, maxAccumulatedFrameSize: ChannelProtocol.maxFrameSize))
                                try channel.pipeline.syncOperations.addHandler(makeHandler?() ?? SimulatedAgentHandler(index: index, recorder: recorder))
                                return Outcome.upgraded(channel)
                            }
                        }
                    )
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: hostHeader)
                    headers.add(name: "User-Agent", value: "tender-bench/\(TenderVersion.current)")
                    headers.add(name: "Content-Length", value: "0")
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration(
                        upgradeRequestHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: AgentPaths.channel, headers: headers),
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(Outcome.refused(channel)) }
                    )
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: .init(upgradeConfiguration: configuration))
                }
            }
        switch try await outcome.get() {
        case .upgraded(let channel):
            try await channel.writeAndFlush(try SimulatedAgentHandler.hello(index: index))
            return channel
        case .refused(let channel):
            try? await channel.close()
            throw TenderError(.unavailable, "the controller refused the channel upgrade")
        }
    }
}
