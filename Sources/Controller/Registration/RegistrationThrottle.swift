import Foundation
import NIOConcurrencyHelpers

/// Slows down guessing of activation codes: after a few wrong codes for one
/// activation (or from one address), further attempts are refused until a
/// back-off that doubles with each failure (capped) has passed.
///
/// An attempt is counted as a failure the moment it is let through (`reserve`),
/// in the same locked step as the check, so concurrent guesses cannot all pass the
/// check while the first of them waits for the database. An attempt that proves
/// the code is then forgiven (`forgive`) or, when it registers, clears its keys
/// (`recordSuccess`).
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

    /// Lets one attempt through and counts it against every key, or refuses it:
    /// nil if it may proceed, else the seconds to wait. Check and count are one step.
    public func reserve(keys: [String], now: Date = Date()) -> TimeInterval? {
        state.withLockedValue { entries in
            let waits = keys.compactMap { entries[$0] }.map { $0.blockedUntil.timeIntervalSince(now) }.filter { $0 > 0 }
            if let wait = waits.max() { return wait }
            for key in keys {
                var entry = entries[key] ?? Entry(failures: 0, blockedUntil: .distantPast)
                entry.failures += 1
                if entry.failures >= freeAttempts {
                    entry.blockedUntil = now.addingTimeInterval(delay(failures: entry.failures))
                }
                entries[key] = entry
            }
            Self.bound(&entries, now: now)
            return nil
        }
    }

    /// Takes back one reserved attempt that turned out not to be a guess (the code
    /// was right but the registration failed for another reason).
    public func forgive(keys: [String], now: Date = Date()) {
        state.withLockedValue { entries in
            for key in keys {
                guard var entry = entries[key] else { continue }
                entry.failures -= 1
                if entry.failures <= 0 {
                    entries[key] = nil
                    continue
                }
                entry.blockedUntil = entry.failures >= freeAttempts ? min(entry.blockedUntil, now.addingTimeInterval(delay(failures: entry.failures))) : .distantPast
                entries[key] = entry
            }
        }
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
