import NIOCore

/// How much one agent connection may ask of the controller. An agent that breaks
/// one of these is disconnected with a logged reason; a well-behaved agent never
/// comes near them (it pings every couple of seconds and sends a handful of
/// messages per invocation, plus its output in 256 KiB pieces when asked).
public struct AgentChannelLimits: Sendable, Equatable {
    /// Bytes queued for one agent that its socket has not taken yet. An agent that
    /// stops reading while work or pongs are written to it reaches this and is
    /// disconnected, instead of growing the controller's memory without bound.
    public var maxPendingBytes: Int = 16 << 20
    /// Pings (and pongs) an agent may send in a burst, and per second after it.
    public var pingBurst: Int = 20
    public var pingsPerSecond: Double = 5
    /// Frames carrying messages (text, binary, continuation) an agent may send in a
    /// burst, and per second after it. The rate alone carries 512 MiB/s of output
    /// pieces (256 KiB each); with the burst, two streams of 1 GiB each (8,192
    /// pieces) go through even at 1 GiB/s.
    public var messageBurst: Int = 5_000
    public var messagesPerSecond: Double = 2_000

    public init() {}
}

/// A token bucket: `burst` tokens, refilled at `perSecond`. Pure, so its rule is
/// tested without a clock.
struct TokenBucket: Sendable, Equatable {
    let burst: Double
    let perSecond: Double
    private(set) var tokens: Double
    private var last: NIODeadline

    init(burst: Int, perSecond: Double, now: NIODeadline) {
        self.burst = Double(max(1, burst))
        self.perSecond = max(0, perSecond)
        tokens = self.burst
        last = now
    }

    /// Takes one token; false when there is none left (the caller is over its rate).
    mutating func take(now: NIODeadline) -> Bool {
        if now > last {
            let elapsed = Double((now - last).nanoseconds) / 1e9
            tokens = min(burst, tokens + elapsed * perSecond)
            last = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
