import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import TenderWire

/// The operator API over HTTPS, mapping each failure to the CLI's exit codes.
struct APIClient {
    let base: String
    let token: String
    let tls: TLSConfiguration

    init(address: String, token: String, caCertPath: String?) throws {
        guard let url = URL(string: address), url.scheme == "https", url.host != nil else {
            throw CLIError.usage("--addr must be an https:// URL, got '\(address)'")
        }
        self.base = address.hasSuffix("/") ? String(address.dropLast()) : address
        self.token = token
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caCertPath {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caCertPath))
            } catch {
                throw CLIError.usage("cannot read the CA certificate \(caCertPath): \(error)")
            }
        }
        self.tls = tls
    }

    func get<T: Decodable>(_ path: String, query: [(String, String)] = [], as type: T.Type) async throws -> T {
        try decode(type, try await send(.GET, path, query: query, body: nil))
    }

    func post<T: Decodable>(_ path: String, body: some Encodable, as type: T.Type) async throws -> T {
        try decode(type, try await send(.POST, path, query: [], body: try JSON.encoder().encode(body)))
    }

    func put<T: Decodable>(_ path: String, body: some Encodable, as type: T.Type) async throws -> T {
        try decode(type, try await send(.PUT, path, query: [], body: try JSON.encoder().encode(body)))
    }

    func post(_ path: String) async throws {
        _ = try await send(.POST, path, query: [], body: nil)
    }

    func delete(_ path: String) async throws {
        _ = try await send(.DELETE, path, query: [], body: nil)
    }

    /// The largest JSON answer read; a full output is streamed instead (`download`).
    static let maxAnswerBytes = 64 << 20

    /// Sends one request; non-2xx answers become CLIErrors carrying the controller's message.
    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: Data?) async throws -> Data {
        var data = Data()
        try await exchange(method, path, query: query, body: body, timeout: .seconds(120)) { response in
            data = Data(buffer: try await response.body.collect(upTo: Self.maxAnswerBytes))
        }
        return data
    }

    /// Streams a (possibly huge) answer body to `each`, piece by piece, never holding it whole.
    func download(_ path: String, query: [(String, String)], each: @escaping (ByteBuffer) throws -> Void) async throws {
        try await exchange(.GET, path, query: query, body: nil, timeout: .hours(24)) { response in
            for try await piece in response.body { try each(piece) }
        }
    }

    private func exchange(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: Data?, timeout: TimeAmount,
                          read: (HTTPClientResponse) async throws -> Void) async throws {
        var components = URLComponents()
        components.queryItems = query.isEmpty ? nil : query.map { URLQueryItem(name: $0.0, value: $0.1) }
        let queryString = components.percentEncodedQuery.map { "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? ""
        var request = HTTPClientRequest(url: base + path + queryString)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "User-Agent", value: "tender/\(TenderVersion.current)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let response = try await client.execute(request, timeout: timeout)
            guard (200..<300).contains(response.status.code) else {
                let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
                throw Self.error(status: response.status, body: data)
            }
            try await read(response)
            try await client.shutdown()
        } catch let error as CLIError {
            try? await client.shutdown()
            throw error
        } catch {
            try? await client.shutdown()
            throw CLIError.unreachable("cannot reach the controller at \(base): \(Self.describe(error))")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do {
            return try JSON.decoder().decode(type, from: data)
        } catch {
            throw CLIError.failed("unexpected answer from the controller: \(error)")
        }
    }

    static func error(status: HTTPResponseStatus, body: Data) -> CLIError {
        let message = (try? JSONDecoder().decode(ErrorResponse.self, from: body))?.error.message
            ?? "HTTP \(status.code) \(status.reasonPhrase)"
        switch status.code {
        case 401, 403: return CLIError.unreachable(message)
        case 400, 413, 422: return CLIError.usage(message)
        default: return CLIError.failed(message)
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("handshakeFailed") {
            return "TLS verification failed (\(text)); pass --ca-cert DATA_DIR/ca.pem or set TENDER_CA_CERT"
        }
        if let error = error as? HTTPClientError { return "\(error)" }
        return text
    }
}
