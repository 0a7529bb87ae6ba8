import Foundation
import Testing
@testable import Controller

/// The throttle the controller runs with (`RegistrationThrottle()`, as `Controller`
/// builds it): the other tests choose their own settings, so only this one fails when a
/// default changes. Time is injected; nothing waits.
@Suite("Registration throttle defaults")
struct RegistrationThrottleDefaultsTests {
    static let keys = ["activation:0b9f8f5e-4c1a-4f51-9a7e-1d2c3b4a5f60", "peer:10.0.0.1"]
    /// Whole seconds, so every wait below is exact.
    static let start = Date(timeIntervalSinceReferenceDate: 700_000_000)

    func wrong(_ throttle: RegistrationThrottle, at time: Date) -> RegistrationThrottle.Attempt {
        throttle.attempt(keys: Self.keys, now: time, isRight: { false })
    }

    @Test("five wrong codes are free, then each attempt waits 1 s, doubling up to 5 minutes; a success forgets")
    func productionDefaults() {
        let throttle = RegistrationThrottle()
        for n in 1...5 {
            #expect(wrong(throttle, at: Self.start) == .wrong, "wrong code \(n) of 5 is answered at once")
        }
        var time = Self.start
        var waits: [TimeInterval] = []
        for _ in 0..<12 {
            guard case .blocked(let wait) = wrong(throttle, at: time) else {
                Issue.record("after \(waits.count + 5) wrong codes the next attempt must wait (waits so far: \(waits))")
                return
            }
            waits.append(wait)
            // Refused until the wait is over, even with the right code (a guesser learns nothing)...
            #expect(throttle.attempt(keys: Self.keys, now: time.addingTimeInterval(wait - 0.5), isRight: { true }) == .blocked(0.5))
            #expect(throttle.blocked(keys: Self.keys, now: time.addingTimeInterval(wait - 0.5)) == 0.5)
            // ...then the next wrong code is counted and the wait doubles.
            time = time.addingTimeInterval(wait)
            #expect(throttle.blocked(keys: Self.keys, now: time) == nil)
            #expect(wrong(throttle, at: time) == .wrong)
        }
        #expect(waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300])

        // The right code after the wait gets through; the registration's success forgets
        // every failure: five wrong codes are free again.
        time = time.addingTimeInterval(300)
        #expect(throttle.attempt(keys: Self.keys, now: time, isRight: { true }) == .right)
        throttle.recordSuccess(keys: Self.keys)
        for n in 1...5 {
            #expect(wrong(throttle, at: time) == .wrong, "after a success, wrong code \(n) of 5 is free again")
        }
        #expect(wrong(throttle, at: time) == .blocked(1))
    }
}
