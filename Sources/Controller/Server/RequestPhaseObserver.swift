import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// A request or response part of either HTTP codec: only where a message begins and ends matters here.
protocol HTTPMessagePart {
    var isHead: Bool { get }
    var isEnd: Bool { get }
}

/// Behind the HTTP codec: tells the `ConnectionDeadlineHandler` ahead of it (by an
/// outbound user event) when a request head arrived, when its body ended and when
/// its response was written, so the deadlines follow the requests.
final class RequestPhaseObserver<Request: HTTPMessagePart, Response: HTTPMessagePart>: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = Request
    typealias InboundOut = Request
    typealias OutboundIn = Response
    typealias OutboundOut = Response

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if part.isHead {
            context.triggerUserOutboundEvent(RequestPhaseEvent.headReceived, promise: nil)
        } else if part.isEnd {
            context.triggerUserOutboundEvent(RequestPhaseEvent.requestEnded, promise: nil)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = unwrapOutboundIn(data).isEnd
        context.write(data, promise: promise)
        if isEnd { context.triggerUserOutboundEvent(RequestPhaseEvent.responseEnded, promise: nil) }
    }
}

/// The agents' port (NIOHTTP1, behind the upgrade handler).
typealias AgentRequestPhaseObserver = RequestPhaseObserver<HTTPServerRequestPart, HTTPPart<HTTPResponseHead, ByteBuffer>>
/// The API (Hummingbird's HTTP types).
typealias APIRequestPhaseObserver = RequestPhaseObserver<HTTPRequestPart, HTTPResponsePart>

extension NIOHTTP1.HTTPPart: HTTPMessagePart {
    var isHead: Bool { if case .head = self { true } else { false } }
    var isEnd: Bool { if case .end = self { true } else { false } }
}

extension HTTPRequestPart: HTTPMessagePart {
    var isHead: Bool { if case .head = self { true } else { false } }
    var isEnd: Bool { if case .end = self { true } else { false } }
}

extension HTTPResponsePart: HTTPMessagePart {
    var isHead: Bool { if case .head = self { true } else { false } }
    var isEnd: Bool { if case .end = self { true } else { false } }
}
