import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket

/// When an agent was last heard from: written on its channel's event loop for every
/// frame, read by the presence monitor's sweep.
final class Liveness: Sendable {
    private struct State {
        var lastHeard: NIODeadline
        var heardSinceFlush: Bool
    }

    private let state = NIOLockedValueBox(State(lastHeard: .now(), heardSinceFlush: true))

    func heard(at now: NIODeadline = .now()) {
        state.withLockedValue { state in
            state.lastHeard = now
            state.heardSinceFlush = true
        }
    }

    var lastHeard: NIODeadline { state.withLockedValue { $0.lastHeard } }

    /// Whether it was heard from since the last call (for the batched `last_ping_at` write).
    func takeHeard() -> Bool {
        state.withLockedValue { state in
            defer { state.heardSinceFlush = false }
            return state.heardSinceFlush
        }
    }
}

/// Answers an agent's heartbeat pings on the event loop and counts every frame as
/// a sign of life. Heartbeats are most of what ten thousand idle agents send; handled
/// here they never wake the session's task (two thread hops and a task switch each).
///
/// A pong is written only while the connection is writable. While it is backed up
/// (the agent is not reading), pings are merged into one pong sent when it drains:
/// answering every ping regardless is how one agent once grew the controller by
/// 10 GB in 30 seconds.
final class HeartbeatResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let liveness: Liveness
    /// The payload of the newest ping not answered yet because the channel was not writable.
    private var owedPong: ByteBuffer?

    init(liveness: Liveness) {
        self.liveness = liveness
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        liveness.heard()
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            if context.channel.isWritable {
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            } else {
                owedPong = frame.unmaskedData
            }
        case .pong:
            break
        default:
            context.fireChannelRead(data)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let payload = owedPong {
            owedPong = nil
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: payload)), promise: nil)
        }
        context.fireChannelWritabilityChanged()
    }
}
