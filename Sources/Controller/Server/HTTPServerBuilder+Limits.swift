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
            let tls = try TLSChannel(ConnectionDeadlineChannel(base: http, connectionGuard: connectionGuard), tlsConfiguration: tlsConfiguration)
            return ConnectionCapChannel(base: tls, connectionGuard: connectionGuard)
        }
    }
}

/// Puts a `ConnectionCapHandler` first in the pipeline, then sets up `base`.
struct ConnectionCapChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let connectionGuard: ConnectionGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(connectionGuard.makeCapHandler())
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Adds a `ConnectionDeadlineHandler` (right behind TLS, inside a `TLSChannel`), then sets up `base`.
struct ConnectionDeadlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let connectionGuard: ConnectionGuard

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(connectionGuard.makeDeadlineHandler())
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
