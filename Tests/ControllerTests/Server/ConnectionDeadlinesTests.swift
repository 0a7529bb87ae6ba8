import NIOCore
import Testing
@testable import Controller

@Suite("Connection deadlines")
struct ConnectionDeadlinesTests {
    let limits = ConnectionLimits(handshakeTimeout: 10, requestHeadTimeout: 5, requestBodyTimeout: 30, idleTimeout: 60,
                                  maxConnections: 10, maxConnectionsPerAddress: 10)

    func at(_ seconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(1_000 + seconds) * 1_000_000_000) }

    @Test("the handshake and the first head have absolute deadlines: bytes do not move them")
    func handshakeAndFirstHead() {
        var state = ConnectionDeadlines(limits: limits)
        state.start(now: at(0))
        #expect(state.next == .init(at: at(10), reason: .handshake))
        state.bytesRead(now: at(4))
        #expect(state.next == .init(at: at(10), reason: .handshake))
        state.handshakeCompleted(now: at(2))
        #expect(state.next == .init(at: at(7), reason: .requestHead))
        state.bytesRead(now: at(3))
        state.bytesRead(now: at(6))
        #expect(state.next == .init(at: at(7), reason: .requestHead), "a trickled head keeps its deadline")
    }

    @Test("body deadline from the head; none while the server works; idle, then a head deadline from the first byte")
    func requestCycle() {
        var state = ConnectionDeadlines(limits: limits)
        state.start(now: at(0))
        state.handshakeCompleted(now: at(1))
        state.headReceived(now: at(2))
        #expect(state.next == .init(at: at(32), reason: .requestBody))
        state.bytesRead(now: at(20))
        #expect(state.next == .init(at: at(32), reason: .requestBody), "body bytes do not extend it")
        state.requestEnded(now: at(21))
        #expect(state.next == nil, "no deadline while the response is produced")
        state.responseEnded(now: at(25))
        #expect(state.next == .init(at: at(85), reason: .idle))
        state.bytesRead(now: at(40))
        #expect(state.next == .init(at: at(45), reason: .requestHead))
        state.bytesRead(now: at(44))
        #expect(state.next == .init(at: at(45), reason: .requestHead))
        state.headReceived(now: at(44))
        #expect(state.next == .init(at: at(74), reason: .requestBody))
    }

    @Test("bytes of a next request during a response count from the response's end")
    func pipelinedBytes() {
        var state = ConnectionDeadlines(limits: limits)
        state.start(now: at(0))
        state.handshakeCompleted(now: at(0))
        state.headReceived(now: at(1))
        state.requestEnded(now: at(1))
        state.bytesRead(now: at(2))
        #expect(state.next == nil)
        state.responseEnded(now: at(50))
        #expect(state.next == .init(at: at(55), reason: .requestHead))
    }

    @Test("an early response keeps the body deadline; no idle timeout means none after the response; disarm ends all")
    func earlyResponseAndAgents() {
        var state = ConnectionDeadlines(limits: limits)
        state.start(now: at(0))
        state.handshakeCompleted(now: at(0))
        state.headReceived(now: at(1))
        state.responseEnded(now: at(2))
        #expect(state.next == .init(at: at(31), reason: .requestBody))
        state.requestEnded(now: at(3))
        #expect(state.next == .init(at: at(62), reason: .idle))

        var agents = limits
        agents.idleTimeout = nil
        var agent = ConnectionDeadlines(limits: agents)
        agent.start(now: at(0))
        agent.handshakeCompleted(now: at(0))
        agent.headReceived(now: at(1))
        agent.requestEnded(now: at(1))
        agent.responseEnded(now: at(2))
        #expect(agent.next == nil, "left to the listener's read-idle handler")
        agent.bytesRead(now: at(3))
        #expect(agent.next == .init(at: at(8), reason: .requestHead))
        agent.disarm()
        #expect(agent.next == nil)
    }
}
