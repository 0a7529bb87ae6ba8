import NIOCore

/// When one HTTPS connection must next make progress, or be closed. Pure, so the
/// rule is tested without a network or a clock. All deadlines are absolute: a peer
/// that trickles a byte now and then does not move them.
///
/// - From accept, the TLS handshake must finish within `handshakeTimeout`.
/// - The first request head must then be complete within `requestHeadTimeout`.
/// - A request's body must be complete within `requestBodyTimeout` of its head.
/// - While the server works on a request there is no deadline (its own limits apply).
/// - After the last response, a silent connection is closed after `idleTimeout`;
///   once bytes of a next request arrive, its head must be complete within
///   `requestHeadTimeout` of them (or of the previous response, if they came earlier).
struct ConnectionDeadlines: Sendable, Equatable {
    enum Reason: Sendable, Equatable {
        case handshake, requestHead, requestBody, idle
    }

    struct Deadline: Sendable, Equatable {
        var at: NIODeadline
        var reason: Reason
    }

    let limits: ConnectionLimits
    private var handshakeStarted: NIODeadline?
    private var handshakeDone = false
    /// Requests whose head came and whose response has not ended.
    private var openRequests = 0
    /// The head of the request whose body is being read.
    private var bodyStarted: NIODeadline?
    /// When the head now awaited started to count (first bytes, handshake or response end).
    private var headStarted: NIODeadline?
    private var lastResponseEnded: NIODeadline?
    /// Bytes of a next request came while a response was still being produced.
    private var pendingDuringResponse = false
    private var disarmed = false

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// The connection was accepted.
    mutating func start(now: NIODeadline) {
        if handshakeStarted == nil { handshakeStarted = now }
    }

    mutating func handshakeCompleted(now: NIODeadline) {
        guard !handshakeDone else { return }
        handshakeDone = true
        headStarted = now
    }

    /// Decrypted bytes arrived: a request head starts (body bytes change nothing).
    mutating func bytesRead(now: NIODeadline) {
        guard handshakeDone, bodyStarted == nil, headStarted == nil else { return }
        // Bytes that come while a response is being produced count from its end.
        if openRequests > 0 {
            pendingDuringResponse = true
        } else {
            headStarted = now
        }
    }

    mutating func headReceived(now: NIODeadline) {
        openRequests += 1
        headStarted = nil
        pendingDuringResponse = false
        bodyStarted = now
    }

    mutating func requestEnded(now: NIODeadline) {
        bodyStarted = nil
    }

    mutating func responseEnded(now: NIODeadline) {
        guard openRequests > 0 else { return }
        openRequests -= 1
        guard openRequests == 0 else { return }
        lastResponseEnded = now
        if pendingDuringResponse {
            pendingDuringResponse = false
            headStarted = now
        }
    }

    /// No more deadlines (the connection became an agent channel, governed by heartbeats).
    mutating func disarm() {
        disarmed = true
    }

    /// The next deadline, nil for none.
    var next: Deadline? {
        if disarmed { return nil }
        guard handshakeDone else {
            return handshakeStarted.map { Deadline(at: $0 + limits.handshake, reason: .handshake) }
        }
        if let bodyStarted { return Deadline(at: bodyStarted + limits.requestBody, reason: .requestBody) }
        if openRequests > 0 { return nil }
        if let headStarted { return Deadline(at: headStarted + limits.requestHead, reason: .requestHead) }
        guard let idle = limits.idle, let lastResponseEnded else { return nil }
        return Deadline(at: lastResponseEnded + idle, reason: .idle)
    }
}
