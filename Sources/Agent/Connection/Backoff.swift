/// Capped exponential backoff with full jitter: the wait before attempt n is drawn
/// uniformly from [0, min(cap, base·2ⁿ)]. Full jitter spreads a fleet that lost its
/// controller at the same moment, so a restart is not met by every agent at once.
public struct Backoff: Sendable {
    /// The agent's reconnect backoff: the first wait at most half a second...
    public static let defaultBase: Double = 0.5
    /// ...doubling up to 30 s.
    public static let defaultCap: Double = 30
    /// A session that lasted longer than this was healthy: the next reconnect starts
    /// the backoff over instead of going on from where the last failures left it.
    public static let stableSession: Duration = .seconds(30)

    public var base: Double
    public var cap: Double
    public private(set) var attempt = 0

    public init(base: Double = Backoff.defaultBase, cap: Double = Backoff.defaultCap) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling for the current attempt, before jitter.
    public var ceiling: Double { min(cap, base * Double(1 << min(attempt, 30))) }

    public mutating func next<R: RandomNumberGenerator>(using generator: inout R) -> Double {
        let value = Double.random(in: 0...ceiling, using: &generator)
        attempt += 1
        return value
    }

    public mutating func next() -> Double {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    public mutating func reset() { attempt = 0 }

    /// The wait before reconnecting after a session of `connectedFor` ended: the
    /// backoff starts over if the session was stable (`stableSession`), else goes on.
    public mutating func next<R: RandomNumberGenerator>(afterSessionOf connectedFor: Duration, using generator: inout R) -> Double {
        if connectedFor > Self.stableSession { reset() }
        return next(using: &generator)
    }

    public mutating func next(afterSessionOf connectedFor: Duration) -> Double {
        var generator = SystemRandomNumberGenerator()
        return next(afterSessionOf: connectedFor, using: &generator)
    }
}
