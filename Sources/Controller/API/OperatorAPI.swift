import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import TenderAPI
import TenderWire

/// The operators' HTTPS JSON API under `/v1/`: bearer tokens, roles, and one
/// error shape for everything that goes wrong.
struct OperatorAPI: Sendable {
    static let maxBodySize = 1 << 20

    let activations: ActivationService
    let instances: InstanceService
    let tokens: TokenService
    let documents: DocumentService
    let commands: CommandService?
    let baselines: BaselineService
    let compliance: ComplianceService
    let logger: Logger

    /// Every route, each capability's own list after the core ones.
    var routes: [APIRoute] { coreRoutes + patchingRoutes }

    private var coreRoutes: [APIRoute] {
        [
            APIRoute(method: .get, path: "/v1/health", role: nil) { _ in
                .json(.ok, ["status": "ok", "version": TenderVersion.current])
            },
            APIRoute(method: .get, path: "/v1/openapi.json", role: nil) { _ in
                .raw(.ok, contentType: "application/json", ByteBuffer(bytes: OpenAPIDocument.bytes))
            },
            APIRoute(method: .get, path: "/v1/activations", role: .readOnly) { _ in
                .json(.ok, try await activations.list())
            },
            APIRoute(method: .post, path: "/v1/activations", role: .operator) { call in
                .json(.created, try await activations.create(try call.decode(CreateActivationRequest.self)))
            },
            APIRoute(method: .get, path: "/v1/activations/{id}", role: .readOnly) { call in
                .json(.ok, try await activations.get(try call.parameter("id")))
            },
            APIRoute(method: .delete, path: "/v1/activations/{id}", role: .operator) { call in
                try await activations.delete(try call.parameter("id"))
                return .noContent
            },
            APIRoute(method: .get, path: "/v1/instances", role: .readOnly) { call in
                let targets = try call.queryValues("target").map(TargetFilter.init(parsing:))
                return .json(.ok, try await instances.list(targets: targets))
            },
            APIRoute(method: .get, path: "/v1/instances/{id}", role: .readOnly) { call in
                .json(.ok, try await instances.get(try call.parameter("id")))
            },
            APIRoute(method: .post, path: "/v1/instances/{id}/tags", role: .operator) { call in
                .json(.ok, try await instances.tag(try call.parameter("id"), tags: try call.decode(TagInstanceRequest.self).tags))
            },
            APIRoute(method: .post, path: "/v1/instances/{id}/untag", role: .operator) { call in
                .json(.ok, try await instances.untag(try call.parameter("id"), keys: try call.decode(UntagInstanceRequest.self).keys))
            },
            APIRoute(method: .post, path: "/v1/instances/{id}/deregister", role: .operator) { call in
                try await instances.deregister(try call.parameter("id"))
                return .noContent
            },
            APIRoute(method: .get, path: "/v1/documents", role: .readOnly) { _ in
                .json(.ok, try await documents.list())
            },
            APIRoute(method: .post, path: "/v1/documents", role: .operator) { call in
                .json(.created, try await documents.create(try call.decode(DocumentRequest.self)))
            },
            APIRoute(method: .get, path: "/v1/documents/{name}", role: .readOnly) { call in
                let version = try call.queryValues("version").first.map { text -> Int in
                    guard let n = Int(text), n >= 0 else { throw TenderError.validation("version must be a whole number, got '\(text)'") }
                    return n
                }
                return .json(.ok, try await documents.show(try call.parameter("name"), version: version))
            },
            APIRoute(method: .put, path: "/v1/documents/{name}", role: .operator) { call in
                .json(.ok, try await documents.update(try call.parameter("name"), try call.decode(DocumentRequest.self)))
            },
            APIRoute(method: .delete, path: "/v1/documents/{name}", role: .operator) { call in
                try await documents.delete(try call.parameter("name"))
                return .noContent
            },
            APIRoute(method: .post, path: "/v1/commands", role: .operator) { call in
                .json(.created, try await commandService().send(try call.decode(SendCommandRequest.self), by: call.principal?.id))
            },
            APIRoute(method: .get, path: "/v1/commands", role: .readOnly) { call in
                let limit = try call.queryValues("limit").first.map { text -> Int in
                    guard let n = Int(text), n > 0 else { throw TenderError.validation("limit must be a positive whole number") }
                    return n
                }
                return .json(.ok, try await commandService().list(limit: limit ?? 50))
            },
            APIRoute(method: .get, path: "/v1/commands/{id}", role: .readOnly) { call in
                .json(.ok, try await commandService().show(try call.parameter("id")))
            },
            APIRoute(method: .post, path: "/v1/commands/{id}/cancel", role: .operator) { call in
                .json(.ok, try await commandService().cancel(try call.parameter("id")))
            },
            APIRoute(method: .get, path: "/v1/commands/{id}/output", role: .readOnly) { call in
                guard let instance = call.queryValues("instance").first else { throw TenderError.validation("give the instance: ?instance=mi-…") }
                let output = try await commandService().output(try call.parameter("id"), instanceID: instance, stream: call.queryValues("stream").first ?? "stdout")
                switch output {
                case .inline(let data):
                    return .raw(.ok, contentType: "application/octet-stream", ByteBuffer(bytes: data))
                case .file(let url, let size):
                    return .stream(.ok, contentType: "application/octet-stream", FileBody.body(of: url, size: size))
                }
            },
            APIRoute(method: .get, path: "/v1/events", role: .readOnly) { call in
                let since = try call.queryValues("since").first.map { text -> Int in
                    guard let n = Int(text), n >= 0 else { throw TenderError.validation("since must be a whole number (an event seq)") }
                    return n
                }
                return .json(.ok, try await commandService().events(after: since ?? 0, limit: 1000))
            },
            APIRoute(method: .get, path: "/v1/tokens", role: .admin) { _ in
                .json(.ok, try await tokens.list())
            },
            APIRoute(method: .post, path: "/v1/tokens", role: .admin) { call in
                .json(.created, try await tokens.create(try call.decode(CreateTokenRequest.self)))
            },
            APIRoute(method: .delete, path: "/v1/tokens/{id}", role: .admin) { call in
                try await tokens.revoke(try call.parameter("id"))
                return .noContent
            },
        ]
    }

    private func commandService() throws -> CommandService {
        guard let commands else { throw TenderError(.unavailable, "Run Command is not available on this controller") }
        return commands
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: JSONErrorMiddleware(logger: logger))
        for route in routes {
            router.on(RouterPath(route.routerPath), method: route.method) { request, context in
                try await self.handle(route, request: request, context: context)
            }
        }
        return router
    }

    private func handle(_ route: APIRoute, request: Request, context: BasicRequestContext) async throws -> Response {
        var request = request
        var principal: TokenRecord?
        if let role = route.role {
            let record = try await authenticate(request)
            guard record.role >= role else {
                throw APIError(TenderError(.forbidden, "this token's role (\(record.role.rawValue)) may not call \(route.method) \(route.path); it needs \(role.rawValue)"))
            }
            principal = record
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maxBodySize)
        } catch is NIOTooManyBytesError {
            throw APIError(TenderError(.tooLarge, "request body is larger than \(Self.maxBodySize) bytes"))
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(TenderError(.tooLarge, "request body is larger than \(Self.maxBodySize) bytes"))
        }
        // Any body sent must be JSON, also to endpoints that ignore it: a client
        // sending garbage should hear so rather than have it silently dropped.
        if body.readableBytes > 0 {
            do {
                try StrictJSON.validate(body.readableBytesView)
            } catch let error as TenderError {
                throw APIError(TenderError(.malformedJSON, "request body is \(error.message)"))
            }
        }
        var parameters: [String: String] = [:]
        for (key, value) in context.parameters { parameters[String(key)] = String(value) }
        let query = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        let call = APICall(parameters: parameters, query: query, body: body, principal: principal)
        let result: APIResult
        do {
            result = try await route.handler(call)
        } catch let error as TenderError {
            throw APIError(error)
        }
        switch result {
        case .json(let status, let value):
            let data = try JSON.encoder(pretty: false).encode(value)
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        case .raw(let status, let contentType, let buffer):
            return Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: buffer))
        case .stream(let status, let contentType, let body):
            return Response(status: status, headers: [.contentType: contentType], body: body)
        case .noContent:
            return Response(status: .noContent)
        }
    }

    private func authenticate(_ request: Request) async throws -> TokenRecord {
        guard let header = request.headers[.authorization] else {
            throw APIError(TenderError(.unauthorized, "no API token: send Authorization: Bearer TOKEN"))
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError(TenderError(.unauthorized, "Authorization header must be 'Bearer TOKEN'"))
        }
        guard let record = try await tokens.authenticate(String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            throw APIError(TenderError(.unauthorized, "the API token is not valid or was revoked"))
        }
        return record
    }
}

/// Turns every error, including Hummingbird's own 404/405, into the API's JSON error
/// shape, and keeps internal failures from leaking details (they are logged instead).
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            let code: TenderError.Code = error.status == .notFound ? .notFound : error.status == .methodNotAllowed ? .validation : .validation
            let message = error.status == .notFound ? "no endpoint \(request.method) \(request.uri.path)" : (error.body ?? "\(error.status)")
            throw APIError(status: error.status, TenderError(code, message))
        } catch let error as TenderError {
            throw APIError(error)
        } catch {
            logger.error("API request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            throw APIError(TenderError(.internalError, "the controller failed to handle this request; see its log"))
        }
    }
}
