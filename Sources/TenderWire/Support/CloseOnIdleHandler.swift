import NIOCore

/// Closes the connection when an `IdleStateHandler` ahead of it reports a read
/// timeout. Closing fails every pending operation on the channel, so a peer that
/// stalls mid-handshake or mid-request cannot hang the side waiting for it.
public final class CloseOnIdleHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny

    public init() {}

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
