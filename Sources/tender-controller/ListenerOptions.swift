import ArgumentParser
import Controller

/// `serve`'s deadlines and connection caps for the two listeners (docs/security.md, "Listeners").
struct ListenerOptions: ParsableArguments {
    @Option(help: "Seconds from connecting to a finished TLS handshake, on both listeners.")
    var handshakeTimeout: Double = ConnectionLimits.api.handshakeTimeout

    @Option(help: "Seconds a request head may take (from the handshake, or from the previous response), on both listeners.")
    var requestHeadTimeout: Double = ConnectionLimits.api.requestHeadTimeout

    @Option(help: "Seconds from a request's head to the end of its body, on both listeners.")
    var requestBodyTimeout: Double = ConnectionLimits.api.requestBodyTimeout

    @Option(help: "Seconds an API keep-alive connection may wait for its next request.")
    var apiIdleTimeout: Double = ConnectionLimits.api.idleTimeout ?? 60

    @Option(help: "Open connections on the API listener; more are closed at once.")
    var apiMaxConnections: Int = ConnectionLimits.api.maxConnections

    @Option(help: "Open connections on the API listener from one address.")
    var apiMaxConnectionsPerAddress: Int = ConnectionLimits.api.maxConnectionsPerAddress

    @Option(help: "Open connections on the agents' listener (agent channels and registrations).")
    var agentMaxConnections: Int = ConnectionLimits.agents.maxConnections

    @Option(help: "Open connections on the agents' listener from one address (agents behind one NAT share one).")
    var agentMaxConnectionsPerAddress: Int = ConnectionLimits.agents.maxConnectionsPerAddress

    static let maxConnectionsCeiling = 1_000_000

    func validate() throws {
        for (flag, value) in [("--handshake-timeout", handshakeTimeout), ("--request-head-timeout", requestHeadTimeout),
                              ("--request-body-timeout", requestBodyTimeout), ("--api-idle-timeout", apiIdleTimeout)] {
            guard value > 0, value <= ConnectionLimits.maxTimeout else {
                throw ValidationError("\(flag) must be more than 0 and at most \(Int(ConnectionLimits.maxTimeout)) seconds, got \(value)")
            }
        }
        for (flag, value) in [("--api-max-connections", apiMaxConnections), ("--api-max-connections-per-address", apiMaxConnectionsPerAddress),
                              ("--agent-max-connections", agentMaxConnections), ("--agent-max-connections-per-address", agentMaxConnectionsPerAddress)] {
            guard (1...Self.maxConnectionsCeiling).contains(value) else {
                throw ValidationError("\(flag) must be between 1 and \(Self.maxConnectionsCeiling), got \(value)")
            }
        }
        guard apiMaxConnectionsPerAddress <= apiMaxConnections else {
            throw ValidationError("--api-max-connections-per-address (\(apiMaxConnectionsPerAddress)) must not exceed --api-max-connections (\(apiMaxConnections))")
        }
        guard agentMaxConnectionsPerAddress <= agentMaxConnections else {
            throw ValidationError("--agent-max-connections-per-address (\(agentMaxConnectionsPerAddress)) must not exceed --agent-max-connections (\(agentMaxConnections))")
        }
    }

    func apply(to configuration: inout ControllerConfiguration) {
        for path in [\ControllerConfiguration.apiConnections, \ControllerConfiguration.agentConnections] {
            configuration[keyPath: path].handshakeTimeout = handshakeTimeout
            configuration[keyPath: path].requestHeadTimeout = requestHeadTimeout
            configuration[keyPath: path].requestBodyTimeout = requestBodyTimeout
        }
        configuration.apiConnections.idleTimeout = apiIdleTimeout
        configuration.apiConnections.maxConnections = apiMaxConnections
        configuration.apiConnections.maxConnectionsPerAddress = apiMaxConnectionsPerAddress
        configuration.agentConnections.maxConnections = agentMaxConnections
        configuration.agentConnections.maxConnectionsPerAddress = agentMaxConnectionsPerAddress
    }
}
