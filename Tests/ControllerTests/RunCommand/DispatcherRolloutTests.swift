import Foundation
import Testing
@testable import Controller

/// The MaxErrors stop, seen where it acts: a real dispatcher with connected (fake)
/// agents, so "nothing more is sent" is a fact about the channels, not the plan.
@Suite("Dispatcher: MaxErrors counts Execution Timed Out")
struct DispatcherMaxErrorsTests {
    @Test("MaxConcurrency 1, MaxErrors 0: the first invocation times out executing, the rest end Cancelled/Terminated and none is sent")
    func executionTimeoutStopsTheRollout() async throws {
        try await DispatcherHarness.with(executionMargin: 5) { h in
            for i in 0..<3 { try await h.connect(h.instance(i)) }
            let id = try await h.insertCommand(stepTimeouts: [10], targets: 3, maxConcurrency: 1, maxErrors: 0)
            await h.kick(id, at: 0)
            #expect(h.log.runs == [.run(h.instance(0))], "one at a time: only the first is sent")
            try await h.started(id, h.instance(0), at: 1)

            // Deadline: started 1 s + the step's 10 s + the margin of 5 s.
            await h.kick(id, at: 15.9)
            #expect(try await h.status(id, h.instance(0)) == "InProgress/InProgress")
            #expect(try await h.status(id, h.instance(1)) == "Pending/Pending", "the window is full")
            await h.kick(id, at: 16)
            #expect(try await h.status(id, h.instance(0)) == "TimedOut/Execution Timed Out")
            #expect(try await h.status(id, h.instance(1)) == "Cancelled/Terminated")
            #expect(try await h.status(id, h.instance(2)) == "Cancelled/Terminated")
            #expect(h.log.runs == [.run(h.instance(0))], "nothing is sent after the error: \(h.log.all)")

            let command = try #require(try await h.store.command(id: id))
            #expect(command.status == .failed)
            #expect(command.errorCount == 1, "the execution timeout is the one error")
            #expect(command.completedCount == 3)
            // A later pass changes nothing and sends nothing.
            await h.kick(id, at: 30)
            #expect(h.log.runs == [.run(h.instance(0))])
        }
    }

    @Test("MaxErrors 1 tolerates one execution timeout: the next is sent, and a second stops the rest")
    func oneTimeoutIsTolerated() async throws {
        try await DispatcherHarness.with(executionMargin: 5) { h in
            for i in 0..<3 { try await h.connect(h.instance(i)) }
            let id = try await h.insertCommand(stepTimeouts: [10], targets: 3, maxConcurrency: 1, maxErrors: 1)
            await h.kick(id, at: 0)
            try await h.started(id, h.instance(0), at: 1)
            await h.kick(id, at: 16)
            #expect(try await h.status(id, h.instance(0)) == "TimedOut/Execution Timed Out")
            #expect(h.log.runs == [.run(h.instance(0)), .run(h.instance(1))], "one error is within MaxErrors 1")
            try await h.started(id, h.instance(1), at: 17)
            await h.kick(id, at: 32)
            #expect(try await h.status(id, h.instance(1)) == "TimedOut/Execution Timed Out")
            #expect(try await h.status(id, h.instance(2)) == "Cancelled/Terminated", "two errors exceed MaxErrors 1")
            #expect(h.log.runs.count == 2)
            #expect(try await h.store.command(id: id)?.errorCount == 2)
        }
    }
}

/// "Never lost": an invocation sent to a connected agent that never starts it is
/// sent again once `Dispatcher.redeliveryDelay` (5 s) has passed, and not before.
@Suite("Dispatcher: unstarted work is resent after 5 s")
struct DispatcherRedeliveryTests {
    @Test("the production delay is 5 s")
    func delayIsFiveSeconds() {
        #expect(Dispatcher.redeliveryDelay == 5)
    }

    @Test("sent at 0 and never started: not resent at 4.9 s, resent at 5 s with the attempt counted, and again 5 s later")
    func resentAfterFiveSeconds() async throws {
        try await DispatcherHarness.with { h in
            let one = h.instance(0)
            try await h.connect(one)
            let id = try await h.insertCommand(targets: 1, maxConcurrency: 1)
            await h.kick(id, at: 0)
            #expect(h.log.runs(to: one) == 1)
            var stored = try await h.invocation(id, one)
            #expect(stored.attempts == 1)
            #expect(stored.sentAt == h.at(0))

            await h.kick(id, at: 4.9)
            #expect(h.log.runs(to: one) == 1, "not before 5 s")
            #expect(try await h.invocation(id, one).attempts == 1)

            await h.kick(id, at: 5)
            #expect(h.log.runs(to: one) == 2, "sent again at 5 s")
            stored = try await h.invocation(id, one)
            #expect(stored.attempts == 2)
            #expect(stored.sentAt == h.at(5), "the wait starts again from the resend")
            #expect(stored.status == .inProgress && stored.startedAt == nil)

            await h.kick(id, at: 9.9)
            #expect(h.log.runs(to: one) == 2)
            await h.kick(id, at: 10)
            #expect(h.log.runs(to: one) == 3)
            #expect(try await h.invocation(id, one).attempts == 3)
        }
    }

    @Test("a started invocation is never resent")
    func startedIsNotResent() async throws {
        try await DispatcherHarness.with { h in
            let one = h.instance(0)
            try await h.connect(one)
            let id = try await h.insertCommand(targets: 1, maxConcurrency: 1)
            await h.kick(id, at: 0)
            try await h.started(id, one, at: 1)
            await h.kick(id, at: 30)
            #expect(h.log.runs(to: one) == 1)
            #expect(try await h.invocation(id, one).attempts == 1)
        }
    }
}

/// `Delayed`: an invocation that could not reach its agent waits, with the details
/// `Delayed`, and is sent when the agent is connected again.
@Suite("Dispatcher: Delayed")
struct DispatcherDelayedTests {
    @Test("sent, and the agent disconnects before starting it: Delayed/Delayed, then sent again once it is back")
    func disconnectedBeforeStart() async throws {
        try await DispatcherHarness.with { h in
            let one = h.instance(0)
            try await h.connect(one)
            let id = try await h.insertCommand(targets: 1, maxConcurrency: 1)
            await h.kick(id, at: 0)
            #expect(h.log.runs(to: one) == 1)

            try await h.disconnect(one)
            await h.kick(id, at: 1)
            #expect(try await h.status(id, one) == "Delayed/Delayed")
            // Still offline: it waits, nothing is written anywhere, and it is not timed out.
            await h.kick(id, at: 60)
            #expect(try await h.status(id, one) == "Delayed/Delayed")
            #expect(h.log.runs(to: one) == 1)
            #expect(try await h.store.command(id: id)?.status.isTerminal == false)

            // The agent is back: the pass an agent's connection asks for sends it.
            try await h.connect(one)
            await h.dispatcher.kickAll(now: h.at(61))
            await h.loop.run()
            #expect(h.log.runs(to: one) == 2, "sent when the agent connects")
            let stored = try await h.invocation(id, one)
            #expect("\(stored.status.rawValue)/\(stored.statusDetails)" == "InProgress/InProgress")
            #expect(stored.attempts == 2)
            #expect(stored.sentAt == h.at(61))
        }
    }

    @Test("the write finds no channel (the agent left between the decision and the write): Delayed/Delayed in the same pass, sent when it connects")
    func writeFindsNoChannel() async throws {
        try await DispatcherHarness.with { h in
            let one = h.instance(0)
            try await h.connect(one)
            h.disconnectWhenStored(one)
            let id = try await h.insertCommand(targets: 1, maxConcurrency: 1)
            await h.kick(id, at: 0)
            #expect(try await h.status(id, one) == "Delayed/Delayed")
            #expect(h.log.runs(to: one) == 0, "there was no channel to write to")

            try await h.connect(one)
            await h.kick(id, at: 2)
            #expect(h.log.runs(to: one) == 1)
            #expect(try await h.status(id, one) == "InProgress/InProgress")
            #expect(try await h.invocation(id, one).attempts == 2)
        }
    }

    @Test("a Delayed invocation of an agent that never comes back ends Delivery Timed Out at the delivery timeout")
    func delayedUntilTheDeliveryTimeout() async throws {
        try await DispatcherHarness.with { h in
            let one = h.instance(0)
            try await h.connect(one)
            let id = try await h.insertCommand(targets: 1, maxConcurrency: 1, deliveryTimeout: 30)
            await h.kick(id, at: 0)
            try await h.disconnect(one)
            await h.kick(id, at: 29.9)
            #expect(try await h.status(id, one) == "Delayed/Delayed")
            await h.kick(id, at: 30)
            #expect(try await h.status(id, one) == "TimedOut/Delivery Timed Out")
            #expect(try await h.store.command(id: id)?.errorCount == 0, "a delivery timeout is not an error")
        }
    }
}
