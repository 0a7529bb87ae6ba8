import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import TenderAPI
import TenderWire

/// The operator API as the bench uses it: the same HTTPS JSON calls the `tender` CLI
/// makes, with the controller's admin token.
public final class BenchAPI: Sendable {
    let client: HTTPClient
    let baseURL: String
    let token: String

    public init(baseURL: String, caPEM: URL, token: String, group: any EventLoopGroup) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPEM.path))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(300))
        client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        self.baseURL = baseURL
        self.token = token
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    func call<Response: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<String>.none, as: Response.Type) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSON.encoder().encode(body)))
        }
        let response = try await client.execute(request, timeout: .seconds(300))
        let data = try await response.body.collect(upTo: 256 << 20)
        guard (200..<300).contains(response.status.code) else {
            let message = (try? JSON.decoder().decode(ErrorResponse.self, from: data))?.tenderError.message ?? String(buffer: data)
            throw TenderError(.unavailable, "\(method) \(path): HTTP \(response.status.code): \(message)")
        }
        return try JSON.decoder().decode(Response.self, from: data)
    }

    public func createActivation(limit: Int) async throws -> ActivationInfo {
        try await call(.POST, "/v1/activations", body: CreateActivationRequest(registrationLimit: limit, expiresInSeconds: 3600, description: "tender-bench"), as: ActivationInfo.self)
    }

    public func sendCommand(_ request: SendCommandRequest) async throws -> CommandInfo {
        try await call(.POST, "/v1/commands", body: request, as: CommandInfo.self)
    }

    public func command(_ id: String) async throws -> CommandInfo {
        try await call(.GET, "/v1/commands/\(id)", as: CommandInfo.self)
    }

    /// The newest commands' summaries, without their invocations: cheap to poll.
    public func recentCommands(limit: Int) async throws -> [CommandInfo] {
        try await call(.GET, "/v1/commands?limit=\(limit)", as: [CommandInfo].self)
    }

    /// `GET /v1/health`, unauthenticated, with its own short deadline.
    public func health(timeout: TimeAmount) async throws {
        var request = HTTPClientRequest(url: baseURL + "/v1/health")
        request.method = .GET
        let response = try await client.execute(request, timeout: timeout)
        _ = try await response.body.collect(upTo: 64 << 10)
        guard response.status == .ok else { throw TenderError(.unavailable, "GET /v1/health: HTTP \(response.status.code)") }
    }

    public func instances() async throws -> [InstanceInfo] {
        try await call(.GET, "/v1/instances", as: [InstanceInfo].self)
    }
}
