import Logging
import NIOCore
import NIOWebSocket
import TenderWire

/// Disconnects an agent that sends pings or messages faster than
/// `AgentChannelLimits` allows. Sits before the heartbeat responder, so a ping
/// flood is stopped on the event loop before it costs a pong each.
final class FloodGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private var pings: TokenBucket
    private var messages: TokenBucket
    private var closing = false
    private let logger: Logger

    init(limits: AgentChannelLimits, logger: Logger, now: NIODeadline = .now()) {
        pings = TokenBucket(burst: limits.pingBurst, perSecond: limits.pingsPerSecond, now: now)
        messages = TokenBucket(burst: limits.messageBurst, perSecond: limits.messagesPerSecond, now: now)
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let frame = unwrapInboundIn(data)
        let now = NIODeadline.now()
        switch frame.opcode {
        case .ping, .pong:
            if !pings.take(now: now) {
                return disconnect(context, reason: "more than \(Int(pings.burst)) pings at once or \(pings.perSecond) per second")
            }
        case .text, .binary, .continuation:
            if !messages.take(now: now) {
                return disconnect(context, reason: "more than \(Int(messages.burst)) messages at once or \(messages.perSecond) per second")
            }
        default:
            break
        }
        context.fireChannelRead(data)
    }

    private func disconnect(_ context: ChannelHandlerContext, reason: String) {
        closing = true
        logger.warning("disconnected an agent that sent too much", metadata: ["reason": "\(reason)", "peer": "\(context.channel.remoteAddress?.ipAddress ?? "?")"])
        let frame = AgentClose.frame(code: ChannelProtocol.closePolicyViolation, reason: "too many frames: \(reason)", allocator: context.channel.allocator)
        // The close frame is a courtesy: the connection goes at once, read or not.
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        context.close(promise: nil)
    }
}

/// Counts the bytes written to an agent that its socket has not taken yet, and
/// disconnects the agent when they pass `AgentChannelLimits.maxPendingBytes`. Every
/// writer (the session, the dispatcher, the heartbeat responder) goes through it.
final class PendingWriteLimiter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let maxPendingBytes: Int
    private let logger: Logger
    private(set) var pendingBytes = 0
    private var closing = false

    init(maxPendingBytes: Int, logger: Logger) {
        self.maxPendingBytes = maxPendingBytes
        self.logger = logger
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let size = unwrapOutboundIn(data).data.readableBytes + 14   // payload and the largest frame header
        if closing || pendingBytes + size > maxPendingBytes {
            promise?.fail(ChannelError.ioOnClosedChannel)
            guard !closing else { return }
            closing = true
            logger.warning("disconnected an agent that does not read what is sent to it", metadata: [
                "pendingBytes": "\(pendingBytes)", "limit": "\(maxPendingBytes)", "peer": "\(context.channel.remoteAddress?.ipAddress ?? "?")",
            ])
            context.close(promise: nil)
            return
        }
        pendingBytes += size
        let tracked = promise ?? context.eventLoop.makePromise()
        tracked.futureResult.assumeIsolated().whenComplete { _ in self.pendingBytes -= size }
        context.write(data, promise: tracked)
    }
}

/// The close frame the controller sends an agent, in one place.
enum AgentClose {
    static func frame(code: UInt16, reason: String, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> WebSocketFrame {
        var buffer = allocator.buffer(capacity: 2 + reason.utf8.count)
        buffer.writeInteger(code)
        buffer.writeString(reason)
        return WebSocketFrame(fin: true, opcode: .connectionClose, data: buffer)
    }
}
