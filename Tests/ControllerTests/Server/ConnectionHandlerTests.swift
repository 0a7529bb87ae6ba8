import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOTLS
import Testing
@testable import Controller

/// Records whether the connection was reported open to the handlers behind it.
final class ChannelActiveRecorder: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    var sawActive = false
    func channelActive(context: ChannelHandlerContext) {
        sawActive = true
        context.fireChannelActive()
    }
}

@Suite("Connection caps and deadline handlers")
struct ConnectionHandlerTests {
    let logger = Logger(label: "test")

    func limits(total: Int = 100, perAddress: Int = 100) -> ConnectionLimits {
        ConnectionLimits(handshakeTimeout: 10, requestHeadTimeout: 5, requestBodyTimeout: 30, idleTimeout: 60,
                         maxConnections: total, maxConnectionsPerAddress: perAddress)
    }

    /// A connection from `ip` through a cap handler; returns the channel and whether the pipeline saw it open.
    func connect(_ connectionGuard: ConnectionGuard, from ip: String) throws -> (EmbeddedChannel, ChannelActiveRecorder) {
        let recorder = ChannelActiveRecorder()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(connectionGuard.makeCapHandler())
        try channel.pipeline.syncOperations.addHandler(recorder)
        let address = try SocketAddress(ipAddress: ip, port: 40_000)
        channel.remoteAddress = address
        try channel.connect(to: address).wait()
        return (channel, recorder)
    }

    @Test("the cap counts per address and in total, refuses one more at once, and forgets an address at zero")
    func cap() throws {
        let cap = ConnectionCap(maxConnections: 3, maxConnectionsPerAddress: 2)
        #expect(cap.admit(address: "10.0.0.1") == nil)
        #expect(cap.admit(address: "10.0.0.1") == nil)
        #expect(cap.admit(address: "10.0.0.1") == .perAddress(limit: 2))
        #expect(cap.admit(address: "10.0.0.2") == nil)
        #expect(cap.admit(address: "10.0.0.3") == .total(limit: 3))
        #expect(cap.snapshot.total == 3 && cap.snapshot.addresses == 2)
        cap.release(address: "10.0.0.2")
        #expect(cap.snapshot.addresses == 1, "an address with no open connection leaves the map")
        cap.release(address: "10.0.0.1")
        #expect(cap.admit(address: "10.0.0.1") == nil)
        #expect(cap.snapshot.total == 2)
    }

    @Test("the cap handler closes connection N+1 before the rest of the pipeline sees it, and a close releases the count")
    func capHandler() throws {
        let connectionGuard = ConnectionGuard(limits: limits(perAddress: 2), listener: .api, logger: logger)
        let (first, firstSeen) = try connect(connectionGuard, from: "10.1.1.1")
        let (second, _) = try connect(connectionGuard, from: "10.1.1.1")
        let (third, thirdSeen) = try connect(connectionGuard, from: "10.1.1.1")
        #expect(first.isActive && second.isActive && firstSeen.sawActive)
        #expect(!third.isActive, "over the per-address cap: closed at once")
        #expect(!thirdSeen.sawActive, "the TLS handler behind never starts a handshake")
        let (other, _) = try connect(connectionGuard, from: "10.1.1.2")
        #expect(other.isActive, "another address has its own count")
        #expect(connectionGuard.cap.snapshot.total == 3)

        try first.close().wait()
        first.embeddedEventLoop.run()
        #expect(connectionGuard.cap.snapshot.total == 2)
        let (fourth, _) = try connect(connectionGuard, from: "10.1.1.1")
        #expect(fourth.isActive, "the closed connection's place is free again")
        for channel in [second, other, fourth] {
            try channel.close().wait()
            channel.embeddedEventLoop.run()
        }
        #expect(connectionGuard.cap.snapshot.total == 0 && connectionGuard.cap.snapshot.addresses == 0)
    }

    /// A connection with a deadline handler (where TLS would be) and an observer behind it (where HTTP parts are).
    func deadlineChannel(observer: Bool = true) throws -> EmbeddedChannel {
        let connectionGuard = ConnectionGuard(limits: limits(), listener: .agents, logger: logger)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(connectionGuard.makeDeadlineHandler())
        if observer { try channel.pipeline.syncOperations.addHandler(AgentRequestPhaseObserver()) }
        try channel.connect(to: try SocketAddress(ipAddress: "10.2.2.2", port: 1)).wait()
        return channel
    }

    @Test("the handshake deadline is absolute: a byte a second does not keep the connection")
    func handshakeDeadline() throws {
        let channel = try deadlineChannel(observer: false)
        for _ in 0..<9 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            channel.pipeline.syncOperations.fireChannelRead(NIOAny(ByteBuffer(string: "x")))
        }
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "closed 10 s after accept")
    }

    @Test("after the handshake: the head within 5 s, then the body within 30 s of the head (told by the observer)")
    func requestDeadlines() throws {
        let channel = try deadlineChannel()
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/register")))
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        #expect(channel.isActive, "the head came in time; the body has 30 s")
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(!channel.isActive, "body not complete 30 s after the head")
    }

    @Test("a silent connection after the handshake is closed at the head deadline")
    func silentAfterHandshake() throws {
        let channel = try deadlineChannel()
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }
}
