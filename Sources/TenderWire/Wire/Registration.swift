/// Sent by `tender-agent register` to `POST /v1/register` on the agent listener.
public struct RegistrationRequest: Codable, Sendable {
    public var activationId: String
    public var activationCode: String
    /// PEM PKCS#10 request for the key the agent generated; the key itself never leaves the host.
    public var csr: String
    public var name: String?
    public var hostname: String?

    public init(activationId: String, activationCode: String, csr: String, name: String?, hostname: String?) {
        self.activationId = activationId
        self.activationCode = activationCode
        self.csr = csr
        self.name = name
        self.hostname = hostname
    }
}

public struct RegistrationResponse: Codable, Sendable {
    public var instanceId: String
    /// PEM client certificate (clientAuth, instance id in a URI SAN).
    public var certificate: String
    /// PEM of the fleet CA, the agent's trust root from now on.
    public var caCertificate: String

    public init(instanceId: String, certificate: String, caCertificate: String) {
        self.instanceId = instanceId
        self.certificate = certificate
        self.caCertificate = caCertificate
    }
}

/// Paths on the agent listener.
public enum AgentPaths {
    public static let caCertificate = "/v1/ca.pem"
    public static let register = "/v1/register"
    public static let channel = "/v1/agent"
}
