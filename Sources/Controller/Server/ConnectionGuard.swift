import Logging

/// One listener's `ConnectionLimits` with the state its connections share (the
/// open-connection counts and the log throttle); makes each connection's handlers.
struct ConnectionGuard: Sendable {
    let limits: ConnectionLimits
    let listener: ListenerName
    let cap: ConnectionCap
    let throttle: LogThrottle
    let logger: Logger

    init(limits: ConnectionLimits, listener: ListenerName, logger: Logger) {
        self.limits = limits
        self.listener = listener
        self.cap = ConnectionCap(limits)
        self.throttle = LogThrottle()
        self.logger = logger
    }

    /// First in the pipeline, before TLS.
    func makeCapHandler() -> ConnectionCapHandler {
        ConnectionCapHandler(cap: cap, listener: listener, throttle: throttle, logger: logger)
    }

    /// Right after the TLS handler.
    func makeDeadlineHandler() -> ConnectionDeadlineHandler {
        ConnectionDeadlineHandler(limits: limits, listener: listener, throttle: throttle, logger: logger)
    }
}
