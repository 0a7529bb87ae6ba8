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
    /// Messages (text or binary frames) an agent may send in a burst, and per second
    /// after it. The burst holds a 1 GiB output upload (4,096 pieces) at full speed.
    public var messageBurst: Int = 5_000
    public var messagesPerSecond: Double = 1_000

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
