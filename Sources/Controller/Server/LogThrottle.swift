import Logging
import Synchronization

/// At most one log line per reason and interval, so that a flood of refused or
/// timed-out connections says why without filling the disk. The line after a quiet
/// spell says how many were left out. Reasons are a fixed set (the map stays small).
final class LogThrottle: Sendable {
    private struct Entry {
        var lastLogged: ContinuousClock.Instant
        var suppressed: Int
    }

    let interval: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// nil: stay quiet; otherwise log now, mentioning this many left out since the last line.
    func admit(_ reason: String, now: ContinuousClock.Instant = .now) -> Int? {
        entries.withLock { entries in
            if var entry = entries[reason], now - entry.lastLogged < interval {
                entry.suppressed += 1
                entries[reason] = entry
                return nil
            }
            let suppressed = entries[reason]?.suppressed ?? 0
            entries[reason] = Entry(lastLogged: now, suppressed: 0)
            return suppressed
        }
    }

    /// Logs `message` under `reason` unless a line for it went out less than `interval` ago.
    func log(_ logger: Logger, _ level: Logger.Level, reason: String, _ message: @autoclosure () -> String, metadata: Logger.Metadata = [:]) {
        guard logger.logLevel <= level, let suppressed = admit(reason) else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["alsoSinceLastLine"] = "\(suppressed)" }
        logger.log(level: level, "\(message())", metadata: metadata)
    }
}
