import Crypto
import Foundation
import Logging
import Testing
@testable import Controller
@testable import TenderAPI
@testable import TenderWire

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

    /// What a registration attempt threw, as (code, message); nil if it succeeded.
    func refusal(_ body: () async throws -> Void) async -> (TenderError.Code, String)? {
        do {
            try await body()
            return nil
        } catch let error as TenderError {
            return (error.code, error.message)
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func unknownActivationAndWrongCodeGetOneAnswer() async throws {
        try await Fixture.with() { f in
            let activation = try await f.activations.create(CreateActivationRequest(registrationLimit: 5))
            let wrong = await refusal { _ = try await f.registration.register(try f.request(activation, code: "WRONG"), peer: "10.0.0.1") }
            var unknown = activation
            unknown.activationId = Identifiers.newActivationID()
            let missing = await refusal { _ = try await f.registration.register(try f.request(unknown), peer: "10.0.0.2") }
            #expect(wrong?.0 == .invalidActivationCode)
            #expect(wrong?.1 == "activation id or code is not valid")
            #expect(missing?.0 == wrong?.0 && missing?.1 == wrong?.1, "unknown: \(String(describing: missing)), wrong code: \(String(describing: wrong))")
            #expect(TenderError(.invalidActivationCode, "x").httpStatus == 401)

            var malformed = activation
            malformed.activationId = String(repeating: "x", count: 5000)
            await expectCode(.validation) { _ = try await f.registration.register(try f.request(malformed), peer: "10.0.0.5") }
        }
    }

    @Test func deletedAndExpiredAreNamedOnlyAfterTheRightCode() async throws {
        try await Fixture.with() { f in
            let activation = try await f.activations.create(CreateActivationRequest(registrationLimit: 5))
            try await f.activations.delete(activation.activationId)
            await expectCode(.invalidActivationCode) { _ = try await f.registration.register(try f.request(activation, code: "WRONG"), peer: "10.0.0.3") }
            await expectCode(.activationDeleted) { _ = try await f.registration.register(try f.request(activation), peer: "10.0.0.3") }

            // An expired activation, made by writing one whose expiry has passed.
            let code = "expired-code-0123456789"
            let expiredID = Identifiers.newActivationID()
            try await f.store.insertActivation(ActivationRecord(id: expiredID, codeHash: SecretHash.hash(code), registrationLimit: 1, registrationsCount: 0, expiresAt: Date().addingTimeInterval(-1), defaultInstanceName: nil, description: nil, tags: [:], createdAt: Date().addingTimeInterval(-100), deletedAt: nil))
            var expired = activation
            expired.activationId = expiredID
            await expectCode(.invalidActivationCode) { _ = try await f.registration.register(try f.request(expired, code: "WRONG"), peer: "10.0.0.4") }
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

    /// The check and the count are one step: guesses racing through the database wait
    /// cannot all pass the check before the first of them is counted.
    @Test func concurrentWrongGuessesEvaluateAtMostTheFreeAttempts() async throws {
        try await Fixture.with(throttle: RegistrationThrottle(freeAttempts: 5, baseDelay: 30, maxDelay: 60)) { f in
            let activation = try await f.activations.create(CreateActivationRequest())
            let csr = try CertificateTools.makeCSR(key: P256.Signing.PrivateKey(), commonName: "host")
            let registration = f.registration
            let codes = await withTaskGroup(of: TenderError.Code?.self) { group in
                for i in 0..<100 {
                    // From 100 addresses: the activation's own count must hold them.
                    let request = RegistrationRequest(activationId: activation.activationId, activationCode: "guess-\(i)", csr: csr, name: nil, hostname: nil)
                    group.addTask {
                        do {
                            _ = try await registration.register(request, peer: "10.1.0.\(i)")
                            return nil
                        } catch let error as TenderError {
                            return error.code
                        } catch {
                            return nil
                        }
                    }
                }
                var codes: [TenderError.Code?] = []
                for await code in group { codes.append(code) }
                return codes
            }
            let evaluated = codes.filter { $0 == .invalidActivationCode }.count
            let throttled = codes.filter { $0 == .tooManyAttempts }.count
            #expect(evaluated == 5, "\(evaluated) of 100 concurrent wrong guesses were evaluated")
            #expect(throttled == 95)
        }
    }

    /// A fleet rollout registers many hosts at once, often from one NAT address:
    /// right codes are never counted, however many are in flight.
    @Test func concurrentRightCodesAreNeverThrottled() async throws {
        try await Fixture.with(throttle: RegistrationThrottle(freeAttempts: 5, baseDelay: 30, maxDelay: 60)) { f in
            let activation = try await f.activations.create(CreateActivationRequest(registrationLimit: 40))
            let registration = f.registration
            var requests: [RegistrationRequest] = []
            for _ in 0..<40 { requests.append(try f.request(activation)) }
            let failures = await withTaskGroup(of: Int.self) { group in
                for request in requests {
                    group.addTask { (try? await registration.register(request, peer: "10.2.0.1")) == nil ? 1 : 0 }
                }
                return await group.reduce(0, +)
            }
            #expect(failures == 0, "\(failures) of 40 concurrent registrations with the right code were refused")
        }
    }

    @Test func aRightCodeThatFailsForAnotherReasonIsNotCountedAsAGuess() async throws {
        try await Fixture.with(throttle: RegistrationThrottle(freeAttempts: 2, baseDelay: 30, maxDelay: 60)) { f in
            let activation = try await f.activations.create(CreateActivationRequest(registrationLimit: 1))
            _ = try await f.registration.register(try f.request(activation), peer: "10.0.0.7")
            for _ in 0..<5 {
                await expectCode(.activationLimitReached) { _ = try await f.registration.register(try f.request(activation), peer: "10.0.0.7") }
            }
            var broken = try f.request(activation)
            broken.csr = "not a CSR"
            for _ in 0..<3 {
                await expectCode(.invalidCSR) { _ = try await f.registration.register(broken, peer: "10.0.0.7") }
            }
        }
    }

    @Test func registrantTextIsCleaned() async throws {
        try await Fixture.with() { f in
            let activation = try await f.activations.create(CreateActivationRequest(registrationLimit: 5, defaultInstanceName: "web"))
            let red = try await f.registration.register(try f.request(activation, name: "\u{1B}[31mred\u{202E}\u{7}"), peer: "127.0.0.1")
            #expect(try await f.store.instance(id: red.instanceId)?.name == "[31mred")
            // Nothing left after cleaning: today's default (the activation's name).
            let empty = try await f.registration.register(try f.request(activation, name: "\u{1B}\u{9B} \u{0}"), peer: "127.0.0.1")
            #expect(try await f.store.instance(id: empty.instanceId)?.name == "web")
            let long = try await f.registration.register(try f.request(activation, name: String(repeating: "n", count: 500)), peer: "127.0.0.1")
            #expect(try await f.store.instance(id: long.instanceId)?.name == String(repeating: "n", count: 128))

            var request = try f.request(activation)
            request.hostname = "host\u{1B}]0;pwned\u{7}" + String(repeating: "h", count: 1000)
            let host = try await f.registration.register(request, peer: "127.0.0.1")
            let stored = try #require(try await f.store.instance(id: host.instanceId))
            #expect(stored.hostname?.hasPrefix("host]0;pwnedh") == true)
            #expect(stored.hostname?.unicodeScalars.count == 255)
            #expect(stored.hostname?.unicodeScalars.contains(where: DisplayText.isControl) == false)
        }
    }

    @Test func throttleBacksOffExponentiallyAndForgetsOnSuccess() {
        let throttle = RegistrationThrottle(freeAttempts: 2, baseDelay: 1, maxDelay: 8)
        let now = Date()
        #expect(throttle.reserve(keys: ["a"], now: now) == nil)
        // The second attempt is let through and counted: the next one waits.
        #expect(throttle.reserve(keys: ["a"], now: now) == nil)
        #expect(throttle.reserve(keys: ["a"], now: now) == 1)
        #expect(throttle.reserve(keys: ["a"], now: now.addingTimeInterval(1)) == nil)
        #expect(throttle.reserve(keys: ["a"], now: now.addingTimeInterval(1)) == 2)
        var t = now.addingTimeInterval(1)
        for _ in 0..<10 {
            t = t.addingTimeInterval(10)
            #expect(throttle.reserve(keys: ["a"], now: t) == nil)
        }
        #expect(throttle.reserve(keys: ["a"], now: t) == 8)
        #expect(throttle.reserve(keys: ["b"], now: t) == nil)
        // Blocked on one key blocks the attempt, and it is not counted against the other.
        #expect(throttle.reserve(keys: ["a", "c"], now: t) == 8)
        #expect(throttle.reserve(keys: ["c"], now: t) == nil)
        #expect(throttle.reserve(keys: ["c"], now: t) == nil)
        throttle.recordSuccess(keys: ["a"])
        #expect(throttle.reserve(keys: ["a"], now: t) == nil)
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
