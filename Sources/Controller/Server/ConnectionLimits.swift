import NIOCore

/// What one listener lets a network peer hold before it has proven anything: how
/// long the TLS handshake and each request may take, how long a keep-alive
/// connection may sit idle, and how many connections may be open (in all, and from
/// one address). Every value is on `tender-controller serve` (docs/security.md).
public struct ConnectionLimits: Sendable, Equatable {
    /// Seconds from accept to a finished TLS handshake. Absolute: bytes trickled in
    /// do not extend it.
    public var handshakeTimeout: Double
    /// Seconds a request head may take: from the end of the handshake for the first
    /// request, from the previous response (or its first byte, if later) for the next.
    public var requestHeadTimeout: Double
    /// Seconds from a request's head to the end of its body.
    public var requestBodyTimeout: Double
    /// Seconds a keep-alive connection may wait silently for its next request; nil
    /// leaves it to the listener's own read-idle handler (the agents' port).
    public var idleTimeout: Double?
    /// Open connections on the listener; one more is closed at once, before TLS.
    public var maxConnections: Int
    /// Open connections from one remote address.
    public var maxConnectionsPerAddress: Int

    public init(handshakeTimeout: Double, requestHeadTimeout: Double, requestBodyTimeout: Double, idleTimeout: Double?,
                maxConnections: Int, maxConnectionsPerAddress: Int) {
        self.handshakeTimeout = handshakeTimeout
        self.requestHeadTimeout = requestHeadTimeout
        self.requestBodyTimeout = requestBodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }

    /// The operators' API: a few people and scripts, usually from one host.
    public static let api = ConnectionLimits(
        handshakeTimeout: 10, requestHeadTimeout: 10, requestBodyTimeout: 30, idleTimeout: 60,
        maxConnections: 1_024, maxConnectionsPerAddress: 64
    )

    /// The agents' port: a 10,000-agent fleet plus registrations, with room for a
    /// reconnect storm; many agents may share one NAT address. Idle connections
    /// before the upgrade are closed by the gateway's 30 s read-idle handler
    /// (`AgentGateway.idleTimeout`), which also stays on the agent channel.
    public static let agents = ConnectionLimits(
        handshakeTimeout: 10, requestHeadTimeout: 10, requestBodyTimeout: 30, idleTimeout: nil,
        maxConnections: 20_000, maxConnectionsPerAddress: 2_048
    )

    /// Longest timeout a flag accepts: anything longer defeats the purpose.
    public static let maxTimeout: Double = 3_600

    var handshake: TimeAmount { Self.amount(handshakeTimeout) }
    var requestHead: TimeAmount { Self.amount(requestHeadTimeout) }
    var requestBody: TimeAmount { Self.amount(requestBodyTimeout) }
    var idle: TimeAmount? { idleTimeout.map(Self.amount) }

    static func amount(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64((seconds * 1e9).rounded())) }
}

/// Which listener a log line is about, and the prefix of its `serve` flags.
struct ListenerName: Sendable, Equatable {
    let display: String
    let flagPrefix: String

    static let agents = ListenerName(display: "agents' listener", flagPrefix: "agent")
    static let api = ListenerName(display: "API listener", flagPrefix: "api")
}
