import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import TenderWire

/// A hostile agent: once welcomed it stops reading and sends pings, or messages
/// the controller must answer, as fast as its socket takes them, until the
/// controller closes the connection or `until` passes. What it saw is kept in a
/// `FloodRecord` that other tasks read.
final class FloodingAgentHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    enum Kind: String, Sendable, Codable {
        /// WebSocket pings, each of which asks for a pong.
        case pings
        /// Results for an invocation that is not the agent's own: well-formed, and each
        /// answered (`resultStored`, so a real agent would drop it) without any store work.
        case messages
        /// Malformed JSON, which no real agent sends.
        case garbage
    }

    let kind: Kind
    let record: FloodRecord
    let until: NIODeadline
    private var flooding = false

    init(kind: Kind, record: FloodRecord, until: NIODeadline) {
        self.kind = kind
        self.record = record
        self.until = until
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !flooding, frame.opcode == .text else { return }
        // The welcome: from now on nothing is read.
        flooding = true
        context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
        record.started()
        pump(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if flooding, context.channel.isWritable { pump(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        record.closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Writes while the socket takes it; the rest follows when it is writable again.
    private func pump(context: ChannelHandlerContext) {
        var sent = 0
        while context.channel.isWritable, context.channel.isActive {
            guard NIODeadline.now() < until else {
                record.gaveUp()
                context.close(promise: nil)
                break
            }
            context.write(wrapOutboundOut(frame(allocator: context.channel.allocator)), promise: nil)
            sent += 1
            if sent % 64 == 0 { context.flush() }
        }
        context.flush()
        record.sent(sent)
        // Nothing will wake a pump that stopped at the deadline check: schedule one.
        if context.channel.isActive, context.channel.isWritable {
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(10)) { self.pump(context: context) }
        }
    }

    /// Encoded once: a result for another instance's invocation.
    static let foreignResult: [UInt8] = {
        let result = InvocationResult(invocationId: "00000000-0000-0000-0000-000000000000_mi-00000000000000000", status: .success,
                                      statusDetails: "Success", responseCode: 0, stdout: "", stderr: "", startedAt: nil, endedAt: Date())
        return (try? [UInt8](ChannelCodec().encode(.invocationResult(result)))) ?? Array(#"{"type":"#.utf8)
    }()

    private func frame(allocator: ByteBufferAllocator) -> WebSocketFrame {
        switch kind {
        case .pings:
            var payload = allocator.buffer(capacity: 8)
            payload.writeInteger(UInt64(0x7465_6e64_6572_2121))
            return WebSocketFrame(fin: true, opcode: .ping, maskKey: .random(), data: payload)
        case .messages:
            return WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: allocator.buffer(bytes: Self.foreignResult))
        case .garbage:
            return WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: allocator.buffer(string: #"{"type":"#))
        }
    }
}

/// What a flooding agent did, for the scenario that watches it.
final class FloodRecord: Sendable {
    private struct State {
        var startedAt: NIODeadline?
        var closedAt: NIODeadline?
        var frames = 0
        /// The flood reached its deadline and closed the connection itself.
        var gaveUp = false
    }

    private let state = NIOLockedValueBox(State())

    func started() { state.withLockedValue { $0.startedAt = .now() } }
    func closed() { state.withLockedValue { $0.closedAt = $0.closedAt ?? .now() } }
    func sent(_ count: Int) { state.withLockedValue { $0.frames += count } }
    func gaveUp() { state.withLockedValue { $0.gaveUp = true } }

    var frames: Int { state.withLockedValue { $0.frames } }
    var isClosed: Bool { state.withLockedValue { $0.closedAt != nil } }
    /// Closed by the controller, not by the flood's own deadline.
    var closedByController: Bool { state.withLockedValue { $0.closedAt != nil && !$0.gaveUp } }
    var hasStarted: Bool { state.withLockedValue { $0.startedAt != nil } }
    /// From the first flooding frame until the controller closed the connection.
    var secondsUntilClosed: Double? {
        state.withLockedValue { state in
            guard let start = state.startedAt, let end = state.closedAt, !state.gaveUp else { return nil }
            return Double((end - start).nanoseconds) / 1e9
        }
    }
}
