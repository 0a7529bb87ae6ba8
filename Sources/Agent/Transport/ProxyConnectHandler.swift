import NIOConcurrencyHelpers
import NIOCore
import TenderWire

/// Tunnels the connection through an HTTP proxy with `CONNECT host:port`.
///
/// It sits nearest the socket and holds back `channelActive` and all writes until
/// the proxy answers 200, so the TLS and HTTP handlers above it start only once
/// the tunnel is open, unaware of the proxy.
final class ProxyConnectHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case waiting
        case connected
        case failed
    }

    private let target: String
    private let credentials: String?
    /// Set when the proxy refuses, so the caller can report that rather than the
    /// "closed channel" error its pending writes see.
    let failure: NIOLockedValueBox<TenderError?>
    private var state = State.waiting
    private var response = ByteBuffer()
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var pendingFlush = false

    init(targetHost: String, targetPort: Int, credentials: String?, failure: NIOLockedValueBox<TenderError?>) {
        self.failure = failure
        self.target = targetHost.contains(":") ? "[\(targetHost)]:\(targetPort)" : "\(targetHost):\(targetPort)"
        self.credentials = credentials
    }

    func channelActive(context: ChannelHandlerContext) {
        var request = "CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\n"
        if let credentials {
            request += "Proxy-Authorization: Basic \(Base64.encode(Array(credentials.utf8)))\r\n"
        }
        request += "\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .waiting = state else {
            context.fireChannelRead(data)
            return
        }
        var buffer = unwrapInboundIn(data)
        response.writeBuffer(&buffer)
        let bytes = response.readableBytesView
        guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if response.readableBytes > 16 * 1024 { fail(context: context, "proxy sent an oversized response to CONNECT") }
            return
        }
        let headerLength = end.upperBound - bytes.startIndex
        let header = response.readString(length: headerLength) ?? ""
        let statusLine = header.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[1] == "200" else {
            fail(context: context, "proxy refused CONNECT \(target): \(statusLine)")
            return
        }
        state = .connected
        context.fireChannelActive()
        for (data, promise) in pendingWrites {
            context.write(wrapOutboundOut(data), promise: promise)
        }
        pendingWrites.removeAll()
        if pendingFlush { context.flush() }
        if response.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(response))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch state {
        case .connected: context.write(data, promise: promise)
        case .waiting: pendingWrites.append((unwrapOutboundIn(data), promise))
        case .failed: promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    func flush(context: ChannelHandlerContext) {
        if case .connected = state { context.flush() } else { pendingFlush = true }
    }

    private func fail(context: ChannelHandlerContext, _ message: String) {
        state = .failed
        let error = TenderError(.unavailable, message)
        failure.withLockedValue { $0 = error }
        for (_, promise) in pendingWrites { promise?.fail(error) }
        pendingWrites.removeAll()
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

/// Minimal Base64 for the proxy credentials header (Shared avoids extra dependencies).
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(table[Int(b0 >> 2)])
            out.append(table[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? table[Int((b1 & 0x0f) << 2 | b2 >> 6)] : "=")
            out.append(i + 2 < bytes.count ? table[Int(b2 & 0x3f)] : "=")
            i += 3
        }
        return out
    }
}
