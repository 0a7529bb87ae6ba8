import Foundation
import NIOConcurrencyHelpers

/// Slows down guessing of activation codes: after a few wrong codes for one
/// activation (or from one address), further attempts are refused until a
/// back-off that doubles with each failure (capped) has passed.
public final class RegistrationThrottle: Sendable {
    struct Entry {
        var failures: Int
        var blockedUntil: Date
    }

    private let state = NIOLockedValueBox<[String: Entry]>([:])
    let freeAttempts: Int
    let baseDelay: TimeInterval
    let maxDelay: TimeInterval

    public init(freeAttempts: Int = 5, baseDelay: TimeInterval = 1, maxDelay: TimeInterval = 300) {
        self.freeAttempts = freeAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Seconds to wait if any of `keys` is blocked now, nil if an attempt may proceed.
    public func retryAfter(keys: [String], now: Date = Date()) -> TimeInterval? {
        state.withLockedValue { entries in
            let waits = keys.compactMap { entries[$0] }.map { $0.blockedUntil.timeIntervalSince(now) }.filter { $0 > 0 }
            return waits.max()
        }
    }

    public func recordFailure(keys: [String], now: Date = Date()) {
        state.withLockedValue { entries in
            for key in keys {
                var entry = entries[key] ?? Entry(failures: 0, blockedUntil: .distantPast)
                entry.failures += 1
                if entry.failures >= freeAttempts {
                    let exponent = Double(min(entry.failures - freeAttempts, 20))
                    entry.blockedUntil = now.addingTimeInterval(min(maxDelay, baseDelay * pow(2, exponent)))
                }
                entries[key] = entry
            }
            if entries.count > 100_000 {
                entries = entries.filter { $0.value.blockedUntil > now }
            }
            // Still too many (a wide attack): forget the least blocked half rather than grow.
            if entries.count > 100_000 {
                let keep = entries.sorted { $0.value.blockedUntil > $1.value.blockedUntil }.prefix(50_000)
                entries = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
            }
        }
    }

    public func recordSuccess(keys: [String]) {
        state.withLockedValue { entries in
            for key in keys { entries[key] = nil }
        }
    }
}
