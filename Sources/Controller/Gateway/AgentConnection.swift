import NIOCore
import NIOWebSocket
import TenderWire

/// One agent's live channel as everything outside its session uses it: queue a
/// message or a batch of messages without waiting, or close it with a reason.
///
/// Nothing here waits for a write: no caller (the dispatcher, a deregistration,
/// shutdown) may stall behind an agent that does not read; its pending bytes are
/// bounded by `PendingWriteLimiter`, and a write that fails closes the channel.
/// The session itself answers its agent through its own async writer.
struct AgentConnection: Sendable {
    let channel: any Channel

    var eventLoop: any EventLoop { channel.eventLoop }
    var allocator: ByteBufferAllocator { channel.allocator }
    var remoteAddress: SocketAddress? { channel.remoteAddress }

    /// Queues one frame.
    func send(_ frame: WebSocketFrame) {
        channel.writeAndFlush(frame, promise: nil)
    }

    /// Queues one message; false if it cannot be encoded (it is not sent).
    @discardableResult
    func send(_ message: ChannelMessage, codec: ChannelCodec = ChannelCodec()) -> Bool {
        guard let data = try? codec.encode(message) else { return false }
        send(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: data)))
        return true
    }

    /// Queues many frames on many connections with one event-loop hop per loop and
    /// per 512 frames: a fan-out to thousands of agents must not cost a hop each.
    static func send(_ writes: [(AgentConnection, WebSocketFrame)]) {
        var perLoop: [ObjectIdentifier: (loop: any EventLoop, writes: [(any Channel, WebSocketFrame)])] = [:]
        for (connection, frame) in writes {
            perLoop[ObjectIdentifier(connection.eventLoop), default: (connection.eventLoop, [])].writes.append((connection.channel, frame))
        }
        for (loop, writes) in perLoop.values {
            for chunk in writes.chunked(512) {
                let batch = Array(chunk)
                loop.execute {
                    for (channel, frame) in batch { channel.writeAndFlush(frame, promise: nil) }
                }
            }
        }
    }

    /// Sends a close frame with `code` and `reason` and closes the channel once it is
    /// written (a superseded connection, shutdown).
    func close(code: UInt16, reason: String) {
        let channel = self.channel
        channel.writeAndFlush(AgentClose.frame(code: code, reason: reason, allocator: channel.allocator)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Sends `last`, then a close frame with `code` and `reason`, and returns once the
    /// channel is closed, `grace` later: an agent that does not read cannot hold it
    /// open (a deregistration is final when it returns).
    func close(code: UInt16, reason: String, after last: ChannelMessage, grace: Duration = .milliseconds(200)) async {
        if let data = try? ChannelCodec().encode(last) {
            channel.write(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: data)), promise: nil)
        }
        channel.writeAndFlush(AgentClose.frame(code: code, reason: reason, allocator: channel.allocator), promise: nil)
        try? await Task.sleep(for: grace)
        try? await channel.close()
    }

    /// Closes at once, without a close frame (a peer gone silent).
    func drop() {
        channel.close(promise: nil)
    }
}
