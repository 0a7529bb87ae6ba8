import Crypto
import Foundation
import Logging
import Testing
@testable import Controller
@testable import Shared

@Suite("Registration")
struct RegistrationTests {
    struct Fixture {
        let dir: URL
        let store: SQLStore
        let ca: CertificateAuthority
        let activations: ActivationService
        let registration: RegistrationService

        static func make(throttle: RegistrationThrottle = RegistrationThrottle()) async throws -> Fixture {
            let logger = Logger(label: "test")
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-reg-\(Identifiers.randomHex(8))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("t.db").path, logger: logger)
            try await store.migrate()
            let ca = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
            return Fixture(dir: dir, store: store, ca: ca, activations: ActivationService(store: store, caFingerprint: ca.fingerprint),
                           registration: RegistrationService(store: store, ca: ca, throttle: throttle, logger: logger))
        }

        /// Runs `body` with a fresh fixture and always closes it, also when the body throws.
        static func with(throttle: RegistrationThrottle = RegistrationThrottle(), _ body: (Fixture) async throws -> Void) async throws {
            let fixture = try await make(throttle: throttle)
            do {
                try await body(fixture)
            } catch {
                await fixture.close()
                throw error
            }
            await fixture.close()
        }

        func close() async {
            await store.shutdown()
            try? FileManager.default.removeItem(at: dir)
        }

        func request(_ activation: ActivationInfo, code: String? = nil, name: String? = nil) throws -> RegistrationRequest {
            RegistrationRequest(activationId: activation.activationId, activationCode: code ?? activation.activationCode ?? "",
                                csr: try CertificateTools.makeCSR(key: P256.Signing.PrivateKey(), commonName: "host"), name: name, hostname: "host-1")
        }
    }

    func expectCode(_ code: TenderError.Code, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code)")
        } catch let error as TenderError {
            #expect(error.code == code, "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func activationValidation() async throws {
        try await Fixture.with() { f in
            await expectCode(.validation) { _ = try await f.activations.create(CreateActivationRequest(registrationLimit: 0)) }
            await expectCode(.validation) { _ = try await f.activations.create(CreateActivationRequest(registrationLimit: 1001)) }
            await expectCode(.validation) { _ = try await f.activations.create(CreateActivationRequest(expiresInSeconds: 31 * 86400)) }
            await expectCode(.validation) { _ = try await f.activations.create(CreateActivationRequest(tags: ["": "x"])) }
            let created = try await f.activations.create(CreateActivationRequest())
            #expect(created.registrationLimit == 1)
            #expect(abs(created.expiresAt.timeIntervalSinceNow - 86400) < 60)
            #expect((created.activationCode ?? "").count >= 20)
            let stored = try #require(try await f.store.activation(id: created.activationId))
            #expect(stored.codeHash != created.activationCode)
            #expect(try await f.activations.list().first?.activationCode == nil, "the code is shown once only")
        }
    }

    @Test func registersAndAppliesNameAndTags() async throws {
        try await Fixture.with() { f in
            let activation = try await f.activations.create(CreateActivationRequest(registrationLimit: 2, defaultInstanceName: "web", tags: ["env": "prod"]))
            let response = try await f.registration.register(try f.request(activation), peer: "127.0.0.1")
            #expect(Identifiers.isInstanceID(response.instanceId))
            let instance = try #require(try await f.store.instance(id: response.instanceId))
            #expect(instance.name == "web")
            #expect(instance.tags == ["env": "prod"])
            let named = try await f.registration.register(try f.request(activation, name: "db-1"), peer: "127.0.0.1")
            #expect(try await f.store.instance(id: named.instanceId)?.name == "db-1")
            await expectCode(.activationLimitReached) { _ = try await f.registration.register(try f.request(activation), peer: "127.0.0.1") }
        }
    }

    @Test func distinctRefusals() async throws {
        try await Fixture.with() { f in
            let activation = try await f.activations.create(CreateActivationRequest(registrationLimit: 5))
            await expectCode(.invalidActivationCode) { _ = try await f.registration.register(try f.request(activation, code: "WRONG"), peer: "10.0.0.1") }
            var unknown = activation
            unknown.activationId = Identifiers.newActivationID()
            await expectCode(.activationNotFound) { _ = try await f.registration.register(try f.request(unknown), peer: "10.0.0.2") }
            var malformed = activation
            malformed.activationId = String(repeating: "x", count: 5000)
            await expectCode(.validation) { _ = try await f.registration.register(try f.request(malformed), peer: "10.0.0.5") }
            try await f.activations.delete(activation.activationId)
            await expectCode(.activationDeleted) { _ = try await f.registration.register(try f.request(activation), peer: "10.0.0.3") }

            // An expired activation, made by writing one whose expiry has passed.
            let code = "expired-code-0123456789"
            let expiredID = Identifiers.newActivationID()
            try await f.store.insertActivation(ActivationRecord(id: expiredID, codeHash: SecretHash.hash(code), registrationLimit: 1, registrationsCount: 0, expiresAt: Date().addingTimeInterval(-1), defaultInstanceName: nil, description: nil, tags: [:], createdAt: Date().addingTimeInterval(-100), deletedAt: nil))
            var expired = activation
            expired.activationId = expiredID
            await expectCode(.activationExpired) { _ = try await f.registration.register(try f.request(expired, code: code), peer: "10.0.0.4") }
        }
    }

    @Test func repeatedWrongCodesAreThrottled() async throws {
        try await Fixture.with(throttle: RegistrationThrottle(freeAttempts: 3, baseDelay: 30, maxDelay: 60)) { f in
            let activation = try await f.activations.create(CreateActivationRequest())
            for _ in 0..<3 {
                await expectCode(.invalidActivationCode) { _ = try await f.registration.register(try f.request(activation, code: "guess"), peer: "10.0.0.9") }
            }
            // Now even the right code waits: the guesser cannot tell a hit from a miss.
            await expectCode(.tooManyAttempts) { _ = try await f.registration.register(try f.request(activation), peer: "10.0.0.9") }
            #expect(try await f.store.instances().isEmpty)
        }
    }

    @Test func throttleBacksOffExponentiallyAndForgetsOnSuccess() {
        let throttle = RegistrationThrottle(freeAttempts: 2, baseDelay: 1, maxDelay: 8)
        let now = Date()
        throttle.recordFailure(keys: ["a"], now: now)
        #expect(throttle.retryAfter(keys: ["a"], now: now) == nil)
        throttle.recordFailure(keys: ["a"], now: now)
        #expect(throttle.retryAfter(keys: ["a"], now: now) == 1)
        throttle.recordFailure(keys: ["a"], now: now)
        #expect(throttle.retryAfter(keys: ["a"], now: now) == 2)
        for _ in 0..<10 { throttle.recordFailure(keys: ["a"], now: now) }
        #expect(throttle.retryAfter(keys: ["a"], now: now) == 8)
        #expect(throttle.retryAfter(keys: ["b"], now: now) == nil)
        throttle.recordSuccess(keys: ["a"])
        #expect(throttle.retryAfter(keys: ["a"], now: now) == nil)
    }

    @Test func hostPortParsing() throws {
        #expect(try HostPort(parsing: "0.0.0.0:8443") == HostPort(host: "0.0.0.0", port: 8443))
        #expect(try HostPort(parsing: "[::1]:8444") == HostPort(host: "::1", port: 8444))
        #expect(try HostPort(parsing: ":9000") == HostPort(host: "0.0.0.0", port: 9000))
        for bad in ["8443", "host:", "host:70000", "[::1]8443", "host:port"] {
            #expect(throws: TenderError.self, "\(bad)") { try HostPort(parsing: bad) }
        }
    }
}
