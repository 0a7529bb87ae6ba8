import Foundation
import Logging
import Testing
@testable import Controller
import TenderAPI
import TenderWire

/// The production defaults and limits of Run Command, read where they are applied
/// (not test-only settings): a send that gives no MaxConcurrency, MaxErrors or
/// timeout, the delivery timeout's bounds, and the serve defaults of the dispatcher
/// and the output store.
@Suite("Run Command: production defaults and limits")
struct RunCommandDefaultsTests {
    static let logger: Logger = {
        var logger = Logger(label: "tender.tests.defaults")
        logger.logLevel = .critical
        return logger
    }()

    /// A `CommandService` over a migrated SQLite store with one registered instance
    /// (no agent connected), removed afterwards.
    func withService(_ body: (CommandService, SQLStore) async throws -> Void) async throws {
        try await TestDatabase.with(.sqlite) { database in
            let store = try await database.open()
            let dispatcher = Dispatcher(store: store, registry: ConnectionRegistry(), logger: Self.logger)
            do {
                try await store.migrate()
                let now = Date()
                try await store.insertActivation(ActivationRecord(
                    id: "act-defaults", codeHash: SecretHash.hash("code"), registrationLimit: 1, registrationsCount: 0,
                    expiresAt: now.addingTimeInterval(3600), defaultInstanceName: nil, description: nil, tags: [:], createdAt: now, deletedAt: nil))
                try await store.registerInstance(InstanceRecord(
                    id: Identifiers.newInstanceID(), name: "host", activationID: "act-defaults", registeredAt: now,
                    certificateSerial: "serial", certificateNotAfter: now.addingTimeInterval(86_400)), activationID: "act-defaults", now: now)
                let outputs = OutputStore(dataDirectory: URL(fileURLWithPath: database.location).deletingLastPathComponent())
                let service = CommandService(store: store, documents: DocumentService(store: store), dispatcher: dispatcher, outputs: outputs)
                try await body(service, store)
                await dispatcher.requestedPassesFinished()
                await store.shutdown()
            } catch {
                await dispatcher.requestedPassesFinished()
                await store.shutdown()
                throw error
            }
        }
    }

    func request(timeout: Int? = nil, maxConcurrency: String? = nil, maxErrors: String? = nil) -> SendCommandRequest {
        SendCommandRequest(documentName: "Tender-RunShellScript", parameters: ["commands": .list(["true"])], targets: ["*"],
                           maxConcurrency: maxConcurrency, maxErrors: maxErrors, timeoutSeconds: timeout)
    }

    @Test("a send that gives neither gets MaxConcurrency 50, MaxErrors 0 and a delivery timeout of 600 s")
    func sendDefaults() async throws {
        try await withService { service, store in
            let sent = try await service.send(request(), by: nil)
            #expect(sent.maxConcurrency == "50")
            #expect(sent.maxErrors == "0")
            #expect(sent.timeoutSeconds == 600)
            let stored = try #require(try await store.command(id: sent.commandId))
            #expect(stored.maxConcurrency == .count(50))
            #expect(stored.maxErrors == .count(0))
            #expect(stored.deliveryTimeoutSeconds == 600)
            // What was given is kept, not replaced by the defaults.
            let given = try await service.send(request(timeout: 45, maxConcurrency: "10%", maxErrors: "2"), by: nil)
            #expect(given.maxConcurrency == "10%" && given.maxErrors == "2" && given.timeoutSeconds == 45)
        }
    }

    @Test("the delivery timeout: 30 s and 30 days are accepted, 29 s and 30 days + 1 s refused naming the limits")
    func timeoutBounds() async throws {
        try await withService { service, _ in
            for accepted in [30, 2_592_000] {
                let sent = try await service.send(request(timeout: accepted), by: nil)
                #expect(sent.timeoutSeconds == accepted)
            }
            for refused in [29, 2_592_001, 0, -1] {
                let error = await #expect(throws: TenderError.self, "timeout \(refused)") { try await service.send(request(timeout: refused), by: nil) }
                #expect(error?.code == .validation)
                #expect(error?.message == "timeout must be between 30 and 2592000 seconds, got \(refused)", "\(error?.message ?? "")")
            }
        }
    }

    @Test("the request's published defaults are the ones applied")
    func publishedDefaults() {
        #expect(SendCommandRequest.defaultMaxConcurrency == "50")
        #expect(SendCommandRequest.defaultMaxErrors == "0")
        #expect(SendCommandRequest.defaultTimeoutSeconds == 600)
        #expect(SendCommandRequest.timeoutRange == 30...2_592_000)
    }

    @Test("the OpenAPI document states the same defaults and timeout range as the code applies")
    func openAPIAgrees() throws {
        // Tests/ControllerTests/RunCommand/RunCommandDefaultsTests.swift -> package root.
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/Controller/API/openapi.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let send = try #require(schemas.values.compactMap { $0 as? [String: Any] }.first {
            (($0["properties"] as? [String: Any])?.keys).map { Set($0).isSuperset(of: ["documentName", "targets", "timeoutSeconds", "maxConcurrency"]) } ?? false
        }?["properties"] as? [String: Any], "the SendCommandRequest schema")
        let timeout = try #require(send["timeoutSeconds"] as? [String: Any])
        #expect(timeout["minimum"] as? Int == SendCommandRequest.timeoutRange.lowerBound)
        #expect(timeout["maximum"] as? Int == SendCommandRequest.timeoutRange.upperBound)
        #expect((timeout["description"] as? String)?.contains("default \(SendCommandRequest.defaultTimeoutSeconds)") == true)
        let concurrency = try #require(send["maxConcurrency"] as? [String: Any])
        #expect((concurrency["description"] as? String)?.contains("default `\(SendCommandRequest.defaultMaxConcurrency)`") == true)
        let errors = try #require(send["maxErrors"] as? [String: Any])
        #expect((errors["description"] as? String)?.contains("default `\(SendCommandRequest.defaultMaxErrors)`") == true)
    }

    @Test("serve defaults: execution-deadline margin 600 s, cancel grace 60 s, 1 GiB of output per stream")
    func serveDefaults() async throws {
        #expect(Dispatcher.defaultExecutionMargin == 600)
        #expect(Dispatcher.defaultCancelGrace == 60)
        #expect(OutputStore.defaultMaxStreamBytes == 1 << 30)

        // What `tender-controller serve` starts with (its flags default to these).
        let configuration = ControllerConfiguration()
        #expect(configuration.executionDeadlineMargin == 600)
        #expect(configuration.cancelGrace == 60)
        #expect(configuration.maxOutputBytes == 1 << 30)

        // The pieces built without a setting get the same.
        #expect(OutputStore(dataDirectory: URL(fileURLWithPath: "/nonexistent")).maxStreamBytes == 1 << 30)
        try await TestDatabase.with(.sqlite) { database in
            let store = try await database.open()
            let dispatcher = Dispatcher(store: store, registry: ConnectionRegistry(), logger: Self.logger)
            let (margin, grace) = (await dispatcher.executionMargin, await dispatcher.cancelGrace)
            #expect(margin == 600)
            #expect(grace == 60)
            await store.shutdown()
        }
    }
}
