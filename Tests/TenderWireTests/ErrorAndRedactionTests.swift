import Testing
@testable import TenderWire

@Suite("Errors and redaction")
struct ErrorAndRedactionTests {
    @Test func badInputNeverMapsToA5xx() {
        let inputErrors: [TenderError.Code] = [
            .validation, .malformedJSON, .invalidCSR, .unauthorized, .invalidActivationCode, .forbidden, .instanceDeregistered,
            .notFound, .activationNotFound, .conflict, .activationLimitReached, .alreadyRegistered, .activationDeleted,
            .activationExpired, .tooLarge, .tooManyAttempts,
        ]
        for code in inputErrors {
            let status = TenderError(code, "x").httpStatus
            #expect((400..<500).contains(status), "\(code) → \(status)")
        }
        #expect(TenderError(.internalError, "x").httpStatus == 500)
        #expect(TenderError(.activationLimitReached, "x").httpStatus == 409)
        #expect(TenderError(.tooLarge, "x").httpStatus == 413)
    }

    @Test func credentialsAreRedactedFromURLs() {
        #expect(Redact.url("postgres://tender:s3cret@db:5432/tender") == "postgres://***@db:5432/tender")
        #expect(Redact.url("http://user:pw@proxy:3128") == "http://***@proxy:3128")
        #expect(Redact.url("postgres://db:5432/tender") == "postgres://db:5432/tender")
        #expect(Redact.url("https://host/path@thing") == "https://host/path@thing")
        #expect(Redact.url("not a url") == "not a url")
    }
}
