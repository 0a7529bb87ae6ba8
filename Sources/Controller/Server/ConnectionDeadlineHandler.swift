import Logging
import NIOCore
import NIOTLS

/// Enforces `ConnectionDeadlines` on one connection. It sits right after the TLS
/// handler, so it sees the handshake finish and every decrypted read; it learns
/// where requests and responses begin and end from a `RequestPhaseObserver` behind
/// the HTTP codec, through outbound user events (which travel towards it).
/// On a missed deadline it closes the connection and logs why (rate-limited).
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private var deadlines: ConnectionDeadlines
    private let listener: ListenerName
    private let throttle: LogThrottle
    private let logger: Logger
    private var scheduled: Scheduled<Void>?
    private var scheduledFor: ConnectionDeadlines.Deadline?
    /// Set once this handler closed the connection: errors from the close itself
    /// (an interrupted TLS handshake) are its consequence, not news.
    private var closedByDeadline = false

    init(limits: ConnectionLimits, listener: ListenerName, throttle: LogThrottle, logger: Logger) {
        self.deadlines = ConnectionDeadlines(limits: limits)
        self.listener = listener
        self.throttle = throttle
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        deadlines.disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadlines.bytesRead(now: context.eventLoop.now)
        reschedule(context: context)
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            deadlines.handshakeCompleted(now: context.eventLoop.now)
            reschedule(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !closedByDeadline { context.fireErrorCaught(error) }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let phase = event as? RequestPhaseEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        let now = context.eventLoop.now
        switch phase {
        case .headReceived: deadlines.headReceived(now: now)
        case .requestEnded: deadlines.requestEnded(now: now)
        case .responseEnded: deadlines.responseEnded(now: now)
        }
        reschedule(context: context)
        promise?.succeed(())
    }

    private func start(context: ChannelHandlerContext) {
        deadlines.start(now: context.eventLoop.now)
        reschedule(context: context)
    }

    /// Keeps one timer, for the current next deadline.
    private func reschedule(context: ChannelHandlerContext) {
        let next = deadlines.next
        guard next != scheduledFor else { return }
        cancelTimer()
        guard let next else { return }
        scheduledFor = next
        scheduled = context.eventLoop.assumeIsolated().scheduleTask(deadline: next.at) {
            self.expired(context: context, next)
        }
    }

    private func cancelTimer() {
        scheduled?.cancel()
        scheduled = nil
        scheduledFor = nil
    }

    private func expired(context: ChannelHandlerContext, _ deadline: ConnectionDeadlines.Deadline) {
        scheduled = nil
        scheduledFor = nil
        guard deadlines.next == deadline else {
            reschedule(context: context)
            return
        }
        throttle.log(logger, .info, reason: "deadline.\(deadline.reason)",
                     "closed a connection on the \(listener.display): \(explanation(deadline.reason))",
                     metadata: ["peer": "\(context.channel.remoteAddress?.ipAddress ?? "?")"])
        deadlines.disarm()
        closedByDeadline = true
        context.close(promise: nil)
    }

    private func explanation(_ reason: ConnectionDeadlines.Reason) -> String {
        let limits = deadlines.limits
        switch reason {
        case .handshake:
            return "the TLS handshake did not finish within \(Self.format(limits.handshakeTimeout)) s of connecting (--handshake-timeout)"
        case .requestHead:
            return "a request head was not complete within \(Self.format(limits.requestHeadTimeout)) s (--request-head-timeout)"
        case .requestBody:
            return "a request body was not complete within \(Self.format(limits.requestBodyTimeout)) s of its head (--request-body-timeout)"
        case .idle:
            return "no request came within \(Self.format(limits.idleTimeout ?? 0)) s of the last response (--\(listener.flagPrefix)-idle-timeout)"
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}

/// Where a request stands, told by `RequestPhaseObserver` to `ConnectionDeadlineHandler`.
enum RequestPhaseEvent: Sendable, Equatable {
    case headReceived
    case requestEnded
    case responseEnded
}
