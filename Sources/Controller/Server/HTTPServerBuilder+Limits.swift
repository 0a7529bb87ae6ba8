import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

extension HTTPServerBuilder {
    /// HTTP/1.1 over TLS like `.tls(.http1(), tlsConfiguration:)`, with the guard's
    /// limits enforced: the connection cap first (before TLS), then TLS, then the
    /// handshake, request and idle deadlines. Hummingbird's own idle timeout stays
    /// off: every body part would reset it, and it knows nothing of the handshake.
    static func limitedTLS(tlsConfiguration: TLSConfiguration, guard connectionGuard: ConnectionGuard) throws -> HTTPServerBuilder {
        .init { responder in
            let http = HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [APIRequestPhaseObserver()]))
            let tls = try TLSChannel(PrependingChannel(base: http) { connectionGuard.makeDeadlineHandler() }, tlsConfiguration: tlsConfiguration)
            return PrependingChannel(base: tls) { connectionGuard.makeCapHandler() }
        }
    }
}

/// Adds one handler to the pipeline, then sets up `base`: the connection cap goes
/// first (before TLS), the deadlines right behind TLS (inside a `TLSChannel`).
struct PrependingChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let makeHandler: @Sendable () -> any ChannelHandler

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(makeHandler())
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
