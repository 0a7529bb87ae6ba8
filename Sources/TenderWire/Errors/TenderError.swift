/// The one error type Tender reports across the wire, the API and the CLI.
///
/// The `code` is stable and meant for scripts; the `message` is for people and
/// names the thing that was wrong. Keeping both sides on one type means an error
/// raised deep in the controller reaches the operator unchanged.
public struct TenderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable error code (`ValidationError`, `NotFound`, ...).
    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let validation = Code("ValidationError")
        public static let malformedJSON = Code("MalformedJSON")
        public static let notFound = Code("NotFound")
        public static let conflict = Code("Conflict")
        public static let unauthorized = Code("Unauthorized")
        public static let forbidden = Code("Forbidden")
        public static let tooLarge = Code("PayloadTooLarge")
        public static let tooManyAttempts = Code("TooManyAttempts")
        public static let internalError = Code("InternalError")
        public static let unavailable = Code("Unavailable")

        // Registration and identity.
        public static let activationNotFound = Code("ActivationNotFound")
        public static let activationDeleted = Code("ActivationDeleted")
        public static let activationExpired = Code("ActivationExpired")
        public static let activationLimitReached = Code("ActivationLimitReached")
        public static let invalidActivationCode = Code("InvalidActivationCode")
        public static let invalidCSR = Code("InvalidCSR")
        public static let caFingerprintMismatch = Code("CAFingerprintMismatch")
        public static let alreadyRegistered = Code("AlreadyRegistered")
        public static let notRegistered = Code("NotRegistered")
        public static let instanceDeregistered = Code("InstanceDeregistered")
        public static let unsupportedProtocol = Code("UnsupportedProtocol")
    }

    public var code: Code
    public var message: String

    /// The HTTP status both listeners answer this error with (5xx only for faults of
    /// the controller itself, never for bad input).
    public var httpStatus: Int {
        switch code {
        case .validation, .malformedJSON, .invalidCSR: return 400
        case .unauthorized, .invalidActivationCode: return 401
        case .forbidden, .instanceDeregistered: return 403
        case .notFound, .activationNotFound, .notRegistered: return 404
        case .conflict, .activationLimitReached, .alreadyRegistered: return 409
        case .activationDeleted, .activationExpired: return 410
        case .tooLarge: return 413
        case .tooManyAttempts: return 429
        case .unavailable: return 503
        default: return 500
        }
    }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func validation(_ message: String) -> TenderError { TenderError(.validation, message) }
    public static func notFound(_ message: String) -> TenderError { TenderError(.notFound, message) }
}

/// The JSON shape of an error on the HTTP APIs: `{"error": {"code": ..., "message": ...}}`.
public struct ErrorResponse: Codable, Sendable {
    public struct Body: Codable, Sendable {
        public var code: String
        public var message: String
    }
    public var error: Body

    public init(_ error: TenderError) {
        self.error = Body(code: error.code.rawValue, message: error.message)
    }

    public var tenderError: TenderError { TenderError(.init(error.code), error.message) }
}
