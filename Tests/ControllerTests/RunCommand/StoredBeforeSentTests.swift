import Foundation
import Testing
@testable import Controller
import TenderWire

/// "Stored before sent": every invocation is stored `InProgress` with its `sentAt`
/// before its run message is written to the agent, so a controller that dies between
/// the two has only ever promised less than it did, never more. The store records
/// when its write returned and the agents' channels record when a frame is written;
/// the writes run on the channels' event loop, so a send made ahead of the store
/// write shows up ahead of it (`DispatcherHarness`).
@Suite("Dispatcher: stored before sent")
struct StoredBeforeSentTests {
    /// Every run written to an instance comes after that instance was stored as sent.
    func expectStoredFirst(_ events: [DispatchEvent], sourceLocation: SourceLocation = #_sourceLocation) {
        var stored = Set<String>()
        for event in events {
            switch event {
            case .stored(let id): stored.insert(id)
            case .run(let id): #expect(stored.contains(id), "\(id) was sent before it was stored as sent: \(events)", sourceLocation: sourceLocation)
            default: break
            }
        }
    }

    @Test("a fan-out: each invocation is stored as sent before its message is written")
    func fanOut() async throws {
        try await DispatcherHarness.with { h in
            for i in 0..<4 { try await h.connect(h.instance(i)) }
            let id = try await h.insertCommand(targets: 4, maxConcurrency: 4)
            await h.kick(id, at: 0)
            #expect(h.log.runs.count == 4)
            expectStoredFirst(h.log.all)
            for i in 0..<4 {
                let stored = try await h.invocation(id, h.instance(i))
                #expect(stored.status == .inProgress && stored.sentAt == h.at(0))
            }
        }
    }

    @Test("the sliding window: each next invocation is stored before it is sent")
    func slidingWindow() async throws {
        try await DispatcherHarness.with { h in
            for i in 0..<3 { try await h.connect(h.instance(i)) }
            let id = try await h.insertCommand(targets: 3, maxConcurrency: 1)
            await h.kick(id, at: 0)
            for i in 0..<2 {
                _ = try await h.store.transitionInvocation(commandID: id, instanceID: h.instance(i), InvocationTransition(
                    from: [.inProgress], to: .success, details: StatusDetails.success, responseCode: 0, stdout: "", stderr: "",
                    startedAt: h.at(Double(i) + 0.5), endedAt: h.at(Double(i) + 1)), at: h.at(Double(i) + 1))
                await h.kick(id, at: Double(i) + 1)
            }
            #expect(h.log.runs == (0..<3).map { .run(h.instance($0)) })
            expectStoredFirst(h.log.all)
        }
    }

    @Test("a Delayed invocation sent when its agent is back is stored as sent again first")
    func delayedThenSent() async throws {
        try await DispatcherHarness.with { h in
            let one = h.instance(0)
            try await h.connect(one)
            h.disconnectWhenStored(one)
            let id = try await h.insertCommand(targets: 1, maxConcurrency: 1)
            await h.kick(id, at: 0)
            #expect(try await h.status(id, one) == "Delayed/Delayed")
            try await h.connect(one)
            await h.kick(id, at: 1)
            #expect(h.log.all == [.stored(one), .stored(one), .run(one)], "\(h.log.all)")
        }
    }
}
