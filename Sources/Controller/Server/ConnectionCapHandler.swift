import Logging
import NIOCore

/// First handler of every accepted connection: admits it under the listener's
/// `ConnectionCap` or closes it at once, before TLS costs anything. An admitted
/// connection is released when it closes, whatever closes it.
final class ConnectionCapHandler: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let cap: ConnectionCap
    private let listener: ListenerName
    private let throttle: LogThrottle
    private let logger: Logger
    private var decided = false

    init(cap: ConnectionCap, listener: ListenerName, throttle: LogThrottle, logger: Logger) {
        self.cap = cap
        self.listener = listener
        self.throttle = throttle
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { _ = admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        // A refused connection is closed without telling the rest of the pipeline it
        // was ever open (the TLS handler does not start a handshake).
        if admit(context: context) { context.fireChannelActive() }
    }

    /// Decides once per connection; false when it was refused and is being closed.
    private func admit(context: ChannelHandlerContext) -> Bool {
        guard !decided else { return true }
        decided = true
        let address = context.channel.remoteAddress?.ipAddress
        guard let refusal = cap.admit(address: address) else {
            let cap = self.cap
            context.channel.closeFuture.whenComplete { _ in cap.release(address: address) }
            return true
        }
        let peer = address ?? "?"
        switch refusal {
        case .total(let limit):
            throttle.log(logger, .warning, reason: "cap.total",
                         "refused a connection on the \(listener.display): \(limit) connections are open, the most allowed (--\(listener.flagPrefix)-max-connections)",
                         metadata: ["peer": "\(peer)"])
        case .perAddress(let limit):
            throttle.log(logger, .warning, reason: "cap.address",
                         "refused a connection on the \(listener.display): \(limit) connections are open from \(peer), the most allowed from one address (--\(listener.flagPrefix)-max-connections-per-address)",
                         metadata: ["peer": "\(peer)"])
        }
        context.close(promise: nil)
        return false
    }
}
