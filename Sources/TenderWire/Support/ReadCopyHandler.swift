import NIOCore

/// Sits right after the TLS handler and copies each decrypted read into a buffer of
/// its own size.
///
/// NIOSSL decrypts into one 32 KiB buffer per connection and hands it on; anything
/// downstream that keeps a slice of it (a WebSocket frame waiting in a queue) forces
/// NIOSSL to copy the whole 32 KiB buffer on its next read. With thousands of agents
/// reporting at once that meant a fresh 32 KiB allocation per message, a quarter of
/// the controller's CPU in page faults, and hundreds of megabytes of buffers held.
/// Copying the few hundred bytes a message really has keeps NIOSSL's buffer unshared.
public final class ReadCopyHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        var copy = context.channel.allocator.buffer(capacity: buffer.readableBytes)
        copy.writeImmutableBuffer(buffer)
        context.fireChannelRead(wrapInboundOut(copy))
    }
}
