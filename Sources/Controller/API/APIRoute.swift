import Foundation
import NIOFoundationCompat
import HTTPTypes
import Hummingbird
import TenderAPI
import TenderWire

/// One operator API endpoint. The API is declared as a table of these so that the
/// router, the role checks and the OpenAPI test all read the same list.
struct APIRoute: Sendable {
    let method: HTTPRequest.Method
    /// OpenAPI-style path, e.g. `/v1/instances/{id}`.
    let path: String
    /// The least role that may call it; nil for the unauthenticated endpoints.
    let role: Role?
    let handler: @Sendable (APICall) async throws -> APIResult

    /// The same path in Hummingbird's `:param` form.
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? ":" + part.dropFirst().dropLast() : String(part)
        }.joined(separator: "/")
    }
}

/// What a handler sees of a request.
struct APICall: Sendable {
    let parameters: [String: String]
    let query: [(String, String)]
    let body: ByteBuffer
    let principal: TokenRecord?

    func parameter(_ name: String) throws -> String {
        guard let value = parameters[name], !value.isEmpty else { throw TenderError.validation("missing path parameter '\(name)'") }
        return value
    }

    func queryValues(_ name: String) -> [String] {
        query.filter { $0.0 == name }.map(\.1)
    }

    /// Decodes the JSON body, with an error that names the field that was wrong.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard body.readableBytes > 0 else { throw TenderError(.malformedJSON, "this endpoint needs a JSON request body") }
        return try JSON.decode(type, from: Data(buffer: body))
    }
}

enum APIResult: Sendable {
    case json(HTTPResponse.Status, any Encodable & Sendable)
    case raw(HTTPResponse.Status, contentType: String, ByteBuffer)
    /// A body written piece by piece (a full output read from disk), never held whole.
    case stream(HTTPResponse.Status, contentType: String, ResponseBody)
    case noContent
}

/// The error JSON the API sends, carried as an `HTTPResponseError` through Hummingbird.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let error: TenderError

    init(_ error: TenderError) {
        self.error = error
        self.status = HTTPResponse.Status(code: error.httpStatus)
    }

    init(status: HTTPResponse.Status, _ error: TenderError) {
        self.status = status
        self.error = error
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = (try? JSON.encoder().encode(ErrorResponse(error))) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
