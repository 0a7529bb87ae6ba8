import Foundation
import NIOConcurrencyHelpers

/// Slows down guessing of activation codes: after a few wrong codes for one
/// activation (or from one address), further attempts are refused until a
/// back-off that doubles with each failure (capped) has passed.
///
/// The check, the comparison of the code and the counting of a wrong one happen in
/// one locked step (`attempt`), after the activation was read from the database:
/// however many guesses arrive at once, only `freeAttempts` of them are answered
/// "wrong" before the rest are refused, and correct registrations, however many
/// run at once (a fleet rollout), are never counted.
public final class RegistrationThrottle: Sendable {
    struct Entry {
        var failures: Int
        var blockedUntil: Date
    }

    /// Most keys remembered at once; a wide attack forgets the least blocked ones
    /// rather than grow without bound.
    static let maxEntries = 100_000

    private let state = NIOLockedValueBox<[String: Entry]>([:])
    let freeAttempts: Int
    let baseDelay: TimeInterval
    let maxDelay: TimeInterval

    public init(freeAttempts: Int = 5, baseDelay: TimeInterval = 1, maxDelay: TimeInterval = 300) {
        self.freeAttempts = freeAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The seconds to wait if any key is blocked now, else nil. Counts nothing: a
    /// cheap early refusal before the database is asked.
    public func blocked(keys: [String], now: Date = Date()) -> TimeInterval? {
        state.withLockedValue { entries in Self.wait(keys, entries, now: now) }
    }

    public enum Attempt: Equatable, Sendable {
        case right
        case wrong
        case blocked(TimeInterval)
    }

    /// In one locked step: refuses the attempt if a key is blocked, else evaluates
    /// `isRight` (a constant-time comparison) and counts a wrong one against every key.
    public func attempt(keys: [String], now: Date = Date(), isRight: () -> Bool) -> Attempt {
        state.withLockedValue { entries in
            if let wait = Self.wait(keys, entries, now: now) { return .blocked(wait) }
            if isRight() { return .right }
            count(keys, &entries, now: now)
            return .wrong
        }
    }

    /// Counts one failed attempt against every key, or refuses it: nil if it was
    /// counted, else the seconds to wait. Check and count are one step.
    public func reserve(keys: [String], now: Date = Date()) -> TimeInterval? {
        state.withLockedValue { entries in
            if let wait = Self.wait(keys, entries, now: now) { return wait }
            count(keys, &entries, now: now)
            return nil
        }
    }

    private static func wait(_ keys: [String], _ entries: [String: Entry], now: Date) -> TimeInterval? {
        keys.compactMap { entries[$0] }.map { $0.blockedUntil.timeIntervalSince(now) }.filter { $0 > 0 }.max()
    }

    private func count(_ keys: [String], _ entries: inout [String: Entry], now: Date) {
        for key in keys {
            var entry = entries[key] ?? Entry(failures: 0, blockedUntil: .distantPast)
            entry.failures += 1
            if entry.failures >= freeAttempts {
                entry.blockedUntil = now.addingTimeInterval(delay(failures: entry.failures))
            }
            entries[key] = entry
        }
        Self.bound(&entries, now: now)
    }

    /// A registration succeeded: its keys start over.
    public func recordSuccess(keys: [String]) {
        state.withLockedValue { entries in
            for key in keys { entries[key] = nil }
        }
    }

    /// The back-off after `failures` counted attempts (at least `freeAttempts`).
    func delay(failures: Int) -> TimeInterval {
        let exponent = Double(min(failures - freeAttempts, 20))
        return min(maxDelay, baseDelay * pow(2, exponent))
    }

    private static func bound(_ entries: inout [String: Entry], now: Date) {
        guard entries.count > maxEntries else { return }
        entries = entries.filter { $0.value.blockedUntil > now }
        if entries.count > maxEntries {
            let keep = entries.sorted { $0.value.blockedUntil > $1.value.blockedUntil }.prefix(maxEntries / 2)
            entries = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
