import Testing
@testable import Controller

/// Asking an agent for missing output always ends: a result whose output never
/// arrives, or cannot be written, is stored without it after `maxRounds` rounds.
@Suite("OutputRounds: asking for missing output ends")
struct OutputRoundsTests {
    static let neverSent = "the agent did not send it after 8 requests"
    static let neverWritten = "writing it failed 8 times (see the controller's log)"

    @Test("eight rounds without progress are asked; the ninth gives up")
    func givesUpAfterEightRounds() {
        #expect(OutputRounds.maxRounds == 8)
        let rounds = OutputRounds()
        for round in 1...8 {
            #expect(rounds.next("inv", held: 100) == .ask, "round \(round)")
        }
        #expect(rounds.next("inv", held: 100) == .giveUp(Self.neverSent))
    }

    @Test("progress starts the count again; a stall after it gives up eight rounds later")
    func progressResets() {
        let rounds = OutputRounds()
        for _ in 1...8 { #expect(rounds.next("inv", held: 10) == .ask) }
        // More arrived: eight new rounds.
        for round in 1...8 {
            #expect(rounds.next("inv", held: 20) == .ask, "round \(round) after progress")
        }
        #expect(rounds.next("inv", held: 20) == .giveUp(Self.neverSent))
        // Less held than before is no progress (a restarted count would loop forever).
        let other = OutputRounds()
        for _ in 1...8 { #expect(other.next("inv", held: 50) == .ask) }
        #expect(other.next("inv", held: 40) == .giveUp(Self.neverSent))
    }

    @Test("after a storage failure the next round says later, once; then it asks again")
    func laterAfterAStorageFailure() {
        let rounds = OutputRounds()
        #expect(rounds.next("inv", held: 0) == .ask)
        rounds.storageFailed("inv")
        #expect(rounds.next("inv", held: 0) == .later)
        #expect(rounds.next("inv", held: 0) == .ask, "the failure is answered once, not forever")
    }

    @Test("storage failing every round gives up after eight rounds, saying writing failed")
    func storageAlwaysFailing() {
        let rounds = OutputRounds()
        for round in 1...8 {
            rounds.storageFailed("inv")
            #expect(rounds.next("inv", held: 0) == .later, "round \(round)")
        }
        rounds.storageFailed("inv")
        #expect(rounds.next("inv", held: 0) == .giveUp(Self.neverWritten))
    }

    @Test("invocations are counted apart, and forget starts one over")
    func separateAndForgotten() {
        let rounds = OutputRounds()
        for _ in 1...8 { #expect(rounds.next("a", held: 0) == .ask) }
        #expect(rounds.next("b", held: 0) == .ask, "b has its own count")
        rounds.forget("a")
        #expect(rounds.next("a", held: 0) == .ask, "forgotten: a fresh count")
    }

    @Test("bounded: when full, a storage failure for an unknown invocation is not recorded")
    func bounded() {
        let rounds = OutputRounds()
        for i in 0..<OutputRounds.capacity { _ = rounds.next("inv-\(i)", held: 0) }
        rounds.storageFailed("new")
        #expect(rounds.next("new", held: 0) == .ask, "no entry was added past the capacity")
    }
}
