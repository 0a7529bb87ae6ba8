/// Capped exponential backoff with full jitter: the wait before attempt n is drawn
/// uniformly from [0, min(cap, base·2ⁿ)]. Full jitter spreads a fleet that lost its
/// controller at the same moment, so a restart is not met by every agent at once.
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double
    public private(set) var attempt = 0

    public init(base: Double = 0.5, cap: Double = 30) {
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
}
