#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Protocol versions of the agent channel. The agent offers the versions it speaks in
/// `hello`; the controller picks the highest it shares and answers in `welcome`.
public enum ChannelProtocol {
    public static let supportedVersions = [1]
    /// Largest WebSocket frame either side accepts. A larger frame closes that one connection.
    public static let maxFrameSize = 1 << 20
    /// WebSocket close codes with a Tender meaning (4000-4999 are for applications).
    public static let closeDeregistered: UInt16 = 4001
    public static let closeProtocolError: UInt16 = 4002
    public static let closeSuperseded: UInt16 = 4003
    /// WebSocket's own "policy violation": the agent sent more than the controller allows.
    public static let closePolicyViolation: UInt16 = 1008
}

/// What the agent reports about itself when it connects.
public struct Hello: Codable, Sendable, Equatable {
    public var protocolVersions: [Int]
    public var agentVersion: String
    public var platformName: String
    public var platformVersion: String
    public var hostname: String
    public var ipAddresses: [String]
    /// The `/etc/os-release` `ID` and `ID_LIKE` of the system patch runs act on (the
    /// package root), which decides the instance's patch baseline. Absent from
    /// agents older than patching; controllers older than it ignore them.
    public var platformId: String?
    public var platformIdLike: String?

    public init(protocolVersions: [Int], agentVersion: String, platformName: String, platformVersion: String, hostname: String, ipAddresses: [String],
                platformId: String? = nil, platformIdLike: String? = nil) {
        self.platformId = platformId
        self.platformIdLike = platformIdLike
        self.protocolVersions = protocolVersions
        self.agentVersion = agentVersion
        self.platformName = platformName
        self.platformVersion = platformVersion
        self.hostname = hostname
        self.ipAddresses = ipAddresses
    }
}

public struct Welcome: Codable, Sendable, Equatable {
    public var protocolVersion: Int
    public var instanceId: String
    /// How often the agent must send a heartbeat (WebSocket ping); silence for
    /// `heartbeatTimeoutSeconds` means the line is dead, on both sides.
    public var heartbeatIntervalSeconds: Double
    public var heartbeatTimeoutSeconds: Double

    public init(protocolVersion: Int, instanceId: String, heartbeatIntervalSeconds: Double, heartbeatTimeoutSeconds: Double) {
        self.protocolVersion = protocolVersion
        self.instanceId = instanceId
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        self.heartbeatTimeoutSeconds = heartbeatTimeoutSeconds
    }
}

public struct Notice: Codable, Sendable, Equatable {
    public var code: String
    public var message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

public struct CertificateRenewalRequest: Codable, Sendable, Equatable {
    public var csr: String
    public init(csr: String) { self.csr = csr }
}

public struct CertificateRenewal: Codable, Sendable, Equatable {
    public var certificate: String
    public init(certificate: String) { self.certificate = certificate }
}

/// One message on the agent channel: a versioned JSON envelope
/// `{"v": 1, "type": "...", "id": "...", "body": {...}}` in a WebSocket text frame.
public enum ChannelMessage: Sendable, Equatable {
    case hello(Hello)
    case welcome(Welcome)
    /// The controller tells the agent its instance was deregistered; the channel closes next.
    case deregistered(Notice)
    /// A protocol-level complaint about the previous message (sent, not fatal).
    case error(Notice)
    case renewCertificate(CertificateRenewalRequest)
    case certificateRenewed(CertificateRenewal)
    /// Controller → agent: run this (the agent spools it, then acknowledges).
    case runInvocation(RunInvocation)
    /// Agent → controller: spooled (also sent again for a duplicate).
    case invocationAccepted(InvocationRef)
    /// Agent → controller: the first step is starting.
    case invocationStarted(InvocationRef)
    /// Agent → controller: output so far while it runs.
    case invocationProgress(InvocationProgress)
    /// Agent → controller: a piece of the full output (before the result).
    case invocationOutput(InvocationOutputChunk)
    /// Controller → agent: send the output again from these offsets, then the result.
    case outputWanted(OutputWanted)
    /// Agent → controller: the outcome (repeated until confirmed).
    case invocationResult(InvocationResult)
    /// Controller → agent: the result is stored; the agent may forget it.
    case resultStored(InvocationRef)
    /// Controller → agent: stop this invocation (kill its process group) or drop it if queued.
    case cancelInvocation(InvocationRef)
    /// A type this side does not know: logged and ignored, so newer peers can add messages.
    case unknown(type: String)

    public var type: String {
        switch self {
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .deregistered: return "deregistered"
        case .error: return "error"
        case .renewCertificate: return "renewCertificate"
        case .certificateRenewed: return "certificateRenewed"
        case .runInvocation: return "runInvocation"
        case .invocationAccepted: return "invocationAccepted"
        case .invocationStarted: return "invocationStarted"
        case .invocationProgress: return "invocationProgress"
        case .invocationOutput: return "invocationOutput"
        case .outputWanted: return "outputWanted"
        case .invocationResult: return "invocationResult"
        case .resultStored: return "resultStored"
        case .cancelInvocation: return "cancelInvocation"
        case .unknown(let type): return type
        }
    }
}

/// Encodes and decodes channel messages.
public struct ChannelCodec: Sendable {
    public static let version = 1

    private struct Envelope<Body: Codable>: Codable {
        var v: Int
        var type: String
        var id: String?
        var body: Body
    }

    private struct Empty: Codable {}

    public init() {}

    public func encode(_ message: ChannelMessage, id: String? = nil) throws -> Data {
        let encoder = JSON.encoder()
        func wrap<B: Codable>(_ body: B) throws -> Data {
            try encoder.encode(Envelope(v: Self.version, type: message.type, id: id, body: body))
        }
        switch message {
        case .hello(let b): return try wrap(b)
        case .welcome(let b): return try wrap(b)
        case .deregistered(let b): return try wrap(b)
        case .error(let b): return try wrap(b)
        case .renewCertificate(let b): return try wrap(b)
        case .certificateRenewed(let b): return try wrap(b)
        case .runInvocation(let b): return try wrap(b)
        case .invocationAccepted(let b): return try wrap(b)
        case .invocationStarted(let b): return try wrap(b)
        case .invocationProgress(let b): return try wrap(b)
        case .invocationOutput(let b): return try wrap(b)
        case .outputWanted(let b): return try wrap(b)
        case .invocationResult(let b): return try wrap(b)
        case .resultStored(let b): return try wrap(b)
        case .cancelInvocation(let b): return try wrap(b)
        case .unknown: return try wrap(Empty())
        }
    }

    /// Decodes one frame's payload; the id is returned alongside for acknowledgements.
    /// One parse per message: every agent message passes through here.
    public func decode(_ data: Data) throws -> (message: ChannelMessage, id: String?) {
        do {
            let envelope = try JSON.decoder().decode(DecodedEnvelope.self, from: data)
            return (envelope.message, envelope.id)
        } catch let error as BodyError {
            throw TenderError(.malformedJSON, "channel message '\(error.type)': \(JSON.describe(error.error))")
        } catch let error as DecodingError {
            throw TenderError(.malformedJSON, "channel message: \(JSON.describe(error))")
        }
    }

    /// A body that does not fit its type, with the type for the error message.
    private struct BodyError: Error {
        var type: String
        var error: DecodingError
    }

    private struct DecodedEnvelope: Decodable {
        var message: ChannelMessage
        var id: String?

        enum CodingKeys: String, CodingKey { case v, type, id, body }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            _ = try container.decode(Int.self, forKey: .v)
            let type = try container.decode(String.self, forKey: .type)
            id = try container.decodeIfPresent(String.self, forKey: .id)
            func body<B: Decodable>(_: B.Type) throws -> B {
                do {
                    return try container.decode(B.self, forKey: .body)
                } catch let error as DecodingError {
                    throw BodyError(type: type, error: error)
                }
            }
            switch type {
            case "hello": message = .hello(try body(Hello.self))
            case "welcome": message = .welcome(try body(Welcome.self))
            case "deregistered": message = .deregistered(try body(Notice.self))
            case "error": message = .error(try body(Notice.self))
            case "renewCertificate": message = .renewCertificate(try body(CertificateRenewalRequest.self))
            case "certificateRenewed": message = .certificateRenewed(try body(CertificateRenewal.self))
            case "runInvocation": message = .runInvocation(try body(RunInvocation.self))
            case "invocationAccepted": message = .invocationAccepted(try body(InvocationRef.self))
            case "invocationStarted": message = .invocationStarted(try body(InvocationRef.self))
            case "invocationProgress": message = .invocationProgress(try body(InvocationProgress.self))
            case "invocationOutput": message = .invocationOutput(try body(InvocationOutputChunk.self))
            case "outputWanted": message = .outputWanted(try body(OutputWanted.self))
            case "invocationResult": message = .invocationResult(try body(InvocationResult.self))
            case "resultStored": message = .resultStored(try body(InvocationRef.self))
            case "cancelInvocation": message = .cancelInvocation(try body(InvocationRef.self))
            default: message = .unknown(type: type)
            }
        }
    }
}
