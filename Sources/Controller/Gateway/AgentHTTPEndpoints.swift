import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TenderWire

/// The plain HTTPS requests on the agents' listener: the CA certificate (so an agent
/// can pin it by fingerprint), registration, and the refusal of a channel upgrade
/// that lacks a valid identity (with a reason the agent can show).
struct AgentHTTPEndpoints: Sendable {
    static let maxBodySize = 64 * 1024

    let registration: RegistrationService
    let caPEM: String
    let logger: Logger

    func serve(_ channel: NIOAsyncChannel<HTTPServerRequestPart, HTTPPart<HTTPResponseHead, ByteBuffer>>) async {
        let peer = channel.channel.remoteAddress?.ipAddress ?? "unknown"
        let instanceID = await AgentGateway.instanceID(ofChannel: channel.channel)
        do {
            try await channel.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = ByteBuffer()
                var tooLarge = false
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body.clear()
                        tooLarge = false
                    case .body(var chunk):
                        if body.readableBytes + chunk.readableBytes > Self.maxBodySize {
                            tooLarge = true
                        } else {
                            body.writeBuffer(&chunk)
                        }
                    case .end:
                        guard let request = head else { continue }
                        let (status, responseBody, contentType) = tooLarge
                            ? Self.error(.payloadTooLarge, TenderError(.tooLarge, "request body is larger than \(Self.maxBodySize) bytes"))
                            : await respond(request, body: body, peer: peer, instanceID: instanceID)
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: contentType)
                        headers.add(name: "Content-Length", value: String(responseBody.readableBytes))
                        let keepAlive = request.isKeepAlive && !tooLarge
                        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
                        try await outbound.write(contentsOf: [
                            .head(HTTPResponseHead(version: request.version, status: status, headers: headers)),
                            .body(responseBody),
                            .end(nil),
                        ])
                        if !keepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("agent HTTP connection ended", metadata: ["error": "\(error)"])
        }
    }

    private func respond(_ head: HTTPRequestHead, body: ByteBuffer, peer: String, instanceID: String?) async -> (HTTPResponseStatus, ByteBuffer, String) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.GET, AgentPaths.caCertificate):
            return (.ok, ByteBuffer(string: caPEM), "application/x-pem-file")
        case (.POST, AgentPaths.register):
            do {
                let request = try JSON.decode(RegistrationRequest.self, from: Data(buffer: body))
                let response = try await registration.register(request, peer: peer)
                return (.ok, ByteBuffer(bytes: try JSON.encoder().encode(response)), "application/json")
            } catch let error as TenderError {
                return Self.error(HTTPResponseStatus(statusCode: error.httpStatus), error)
            } catch {
                logger.error("registration failed", metadata: ["error": "\(error)"])
                return Self.error(.internalServerError, TenderError(.internalError, "registration failed on the controller; see its log"))
            }
        case (.GET, AgentPaths.channel):
            // Reached only when the upgrade was declined.
            guard let instanceID else {
                return Self.error(.unauthorized, TenderError(.unauthorized, "the agent channel needs a client certificate from this fleet's CA; register the agent first"))
            }
            return Self.error(.badRequest, TenderError(.validation, "instance \(instanceID): expected a WebSocket upgrade request"))
        default:
            return Self.error(.notFound, TenderError(.notFound, "no endpoint \(head.method) \(path) on the agent listener"))
        }
    }

    static func error(_ status: HTTPResponseStatus, _ error: TenderError) -> (HTTPResponseStatus, ByteBuffer, String) {
        let data = (try? JSON.encoder().encode(ErrorResponse(error))) ?? Data()
        return (status, ByteBuffer(bytes: data), "application/json")
    }
}
