import Foundation
import Testing
@testable import Controller
import TenderAPI
import TenderWire

/// The one store suite: every test runs against SQLite and PostgreSQL.
///
/// PostgreSQL needs `TENDER_TEST_POSTGRES_URL` (scripts/test starts a throwaway
/// server and sets it); without it the tests run against SQLite only and
/// `postgresIsAvailable` is reported as skipped, saying why.
@Suite("StoreTests")
struct StoreTests {
    // MARK: Fixtures

    /// A base time at millisecond precision, the precision the store keeps.
    let base = Millis.now()

    /// `base` moved by `seconds`, still exactly representable by the store.
    func at(_ seconds: Double) -> Date {
        Millis.date(base + Int((seconds * 1000).rounded()))
    }

    func makeActivation(
        id: String = Identifiers.newActivationID(),
        limit: Int = 5,
        expiresIn: Double = 3600,
        tags: [String: String] = [:],
        createdAt: Double = 0,
        name: String? = nil,
        description: String? = nil
    ) -> ActivationRecord {
        ActivationRecord(
            id: id, codeHash: SecretHash.hash("code-\(id)"), registrationLimit: limit, registrationsCount: 0,
            expiresAt: at(expiresIn), defaultInstanceName: name, description: description, tags: tags,
            createdAt: at(createdAt), deletedAt: nil
        )
    }

    func makeInstance(id: String = Identifiers.newInstanceID(), activationID: String, tags: [String: String] = [:]) -> InstanceRecord {
        InstanceRecord(
            id: id, name: "host-\(id.suffix(4))", activationID: activationID, registeredAt: at(0),
            certificateSerial: "serial-\(id)", certificateNotAfter: at(86_400 * 30), tags: tags
        )
    }

    /// Opens a migrated store on a fresh database of `kind`, runs `body`, and shuts
    /// the store down and removes the database whatever happens.
    func withStore<T: Sendable>(_ kind: StoreKind, _ body: (SQLStore) async throws -> T) async throws -> T {
        try await TestDatabase.with(kind) { database in
            let store = try await database.open()
            do {
                try await store.migrate()
                let value = try await body(store)
                await store.shutdown()
                return value
            } catch {
                await store.shutdown()
                throw error
            }
        }
    }

    /// Registers a new instance on `activationID` and returns it as the store should now hold it.
    @discardableResult
    func register(_ store: SQLStore, activationID: String, id: String = Identifiers.newInstanceID(), now: Double = 0) async throws -> InstanceRecord {
        let instance = makeInstance(id: id, activationID: activationID)
        try await store.registerInstance(instance, activationID: activationID, now: at(now))
        return instance
    }

    func expectError(_ code: TenderError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
        let error = await #expect(throws: TenderError.self, sourceLocation: sourceLocation) { try await body() }
        #expect(error?.code == code, "expected \(code), got \(error.map { String(describing: $0) } ?? "nothing")", sourceLocation: sourceLocation)
    }

    // MARK: Backends

    /// Stands for the PostgreSQL cases in the results: skipped, with the reason, when
    /// `TENDER_TEST_POSTGRES_URL` is unset and every test runs against SQLite only; a
    /// failure instead under CI, where a green run without them would hide a gap.
    @Test(.enabled(if: TestDatabase.postgresURL != nil || TestDatabase.isCI, "TENDER_TEST_POSTGRES_URL is not set: the PostgreSQL store cases are skipped (scripts/test starts a PostgreSQL and sets it)"))
    func postgresIsAvailable() async throws {
        guard TestDatabase.postgresURL != nil else {
            Issue.record("CI is set but TENDER_TEST_POSTGRES_URL is not: the PostgreSQL store cases would be skipped. Run scripts/test, which starts a PostgreSQL 15 and sets it.")
            return
        }
        #expect(StoreKind.tested == StoreKind.allCases)
        let (backend, version) = try await withStore(.postgres) { store in
            (store.backendName, try await store.schemaVersion())
        }
        #expect(backend == "postgres")
        #expect(version == Migrations.all.last?.version)
    }

    // MARK: Migrations

    @Test("migrations are idempotent and reach the last version", arguments: StoreKind.tested)
    func migrationsAreIdempotent(kind: StoreKind) async throws {
        let lastVersion = try #require(Migrations.all.last?.version)
        try await TestDatabase.with(kind) { database in
            let store = try await database.open()
            do {
                try await store.migrate()
                #expect(try await store.schemaVersion() == lastVersion)
                try await store.migrate()
                #expect(try await store.schemaVersion() == lastVersion)
                // The schema really is there and usable after the second run.
                try await store.insertActivation(makeActivation(id: "a-1"))
                #expect(try await store.activation(id: "a-1") != nil)
                await store.shutdown()
            } catch {
                await store.shutdown()
                throw error
            }
            if kind == .postgres {
                // Several replicas starting at once on the same database.
                let stores = try await (0..<4).asyncMap { _ in try await database.open() }
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for store in stores { group.addTask { try await store.migrate() } }
                        try await group.waitForAll()
                    }
                    for store in stores { #expect(try await store.schemaVersion() == lastVersion) }
                } catch {
                    for store in stores { await store.shutdown() }
                    throw error
                }
                for store in stores { await store.shutdown() }
            }
        }
    }

    // MARK: Activations

    @Test("activation insert, get, list and delete as a tombstone", arguments: StoreKind.tested)
    func activationLifecycle(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = makeActivation(id: "act-1", limit: 3, tags: ["env": "prod", "team": "web"], createdAt: 0, name: "web", description: "web servers")
            let second = makeActivation(id: "act-2", limit: 1, createdAt: 10)
            let third = makeActivation(id: "act-3", createdAt: 20)
            for activation in [first, second, third] { try await store.insertActivation(activation) }

            #expect(try await store.activation(id: "act-1") == first)
            #expect(try await store.activation(id: "act-2") == second)
            // Newest first.
            #expect(try await store.activations().map(\.id) == ["act-3", "act-2", "act-1"])
            #expect(try await store.activations() == [third, second, first])

            #expect(try await store.deleteActivation(id: "act-2", at: at(30)))
            let tombstone = try #require(try await store.activation(id: "act-2"))
            #expect(tombstone.deletedAt == at(30))
            var expected = second
            expected.deletedAt = at(30)
            #expect(tombstone == expected)
            #expect(try await store.activations().map(\.id) == ["act-3", "act-1"])

            // A second delete finds nothing left to delete and keeps the first time.
            #expect(try await store.deleteActivation(id: "act-2", at: at(40)) == false)
            #expect(try await store.activation(id: "act-2")?.deletedAt == at(30))
        }
    }

    // MARK: Registration

    @Test("registerInstance enforces limit, expiry, deletion and existence, and counts", arguments: StoreKind.tested)
    func registrationRules(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.insertActivation(makeActivation(id: "limited", limit: 2))
            let one = try await register(store, activationID: "limited")
            #expect(try await store.activation(id: "limited")?.registrationsCount == 1)
            let two = try await register(store, activationID: "limited")
            #expect(try await store.activation(id: "limited")?.registrationsCount == 2)

            let refused = makeInstance(activationID: "limited")
            await expectError(.activationLimitReached) {
                try await store.registerInstance(refused, activationID: "limited", now: at(0))
            }
            // A refused registration neither counts nor stores anything.
            #expect(try await store.activation(id: "limited")?.registrationsCount == 2)
            #expect(try await store.instance(id: refused.id) == nil)
            #expect(try await store.instances().map(\.id) == [one.id, two.id].sorted())

            try await store.insertActivation(makeActivation(id: "expired", expiresIn: -1))
            await expectError(.activationExpired) {
                try await register(store, activationID: "expired")
            }
            // Expiry is exclusive: an activation expiring exactly now is expired.
            try await store.insertActivation(makeActivation(id: "expiring-now", expiresIn: 60))
            await expectError(.activationExpired) {
                try await register(store, activationID: "expiring-now", now: 60)
            }
            try await register(store, activationID: "expiring-now", now: 59.999)

            try await store.insertActivation(makeActivation(id: "deleted"))
            #expect(try await store.deleteActivation(id: "deleted", at: at(1)))
            await expectError(.activationDeleted) {
                try await register(store, activationID: "deleted")
            }

            await expectError(.activationNotFound) {
                try await register(store, activationID: "no-such-activation")
            }

            #expect(try await store.activation(id: "expired")?.registrationsCount == 0)
            #expect(try await store.activation(id: "expiring-now")?.registrationsCount == 1)
            #expect(try await store.activation(id: "deleted")?.registrationsCount == 0)
            #expect(try await store.instances().count == 3)
        }
    }

    @Test("a failed instance insert does not use up a registration", arguments: StoreKind.tested)
    func failedInsertRollsBack(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.insertActivation(makeActivation(id: "act", limit: 5))
            try await register(store, activationID: "act", id: "mi-00000000000000001")
            // Same instance id again: the insert fails, so the count must roll back.
            await #expect(throws: (any Error).self) {
                try await register(store, activationID: "act", id: "mi-00000000000000001")
            }
            #expect(try await store.activation(id: "act")?.registrationsCount == 1)
            #expect(try await store.instances().count == 1)
        }
    }

    @Test("concurrent registrations never exceed the limit", arguments: StoreKind.tested)
    func concurrentRegistrations(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.insertActivation(makeActivation(id: "race", limit: 3))
            let instances = (0..<10).map { _ in makeInstance(activationID: "race") }
            let now = at(0)
            enum Outcome: Sendable { case registered(String), refused(TenderError.Code), failed(String) }
            let outcomes = await withTaskGroup(of: Outcome.self) { group in
                for instance in instances {
                    group.addTask {
                        do {
                            try await store.registerInstance(instance, activationID: "race", now: now)
                            return .registered(instance.id)
                        } catch let error as TenderError {
                            return .refused(error.code)
                        } catch {
                            return .failed(String(reflecting: error))
                        }
                    }
                }
                var outcomes: [Outcome] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            var winners: [String] = [], failures: [String] = []
            for outcome in outcomes {
                switch outcome {
                case .registered(let id): winners.append(id)
                case .refused(let code): failures.append(code.rawValue)
                case .failed(let error): failures.append(error)
                }
            }
            #expect(winners.count == 3)
            #expect(failures.count == 7)
            #expect(failures.allSatisfy { $0 == TenderError.Code.activationLimitReached.rawValue }, "failures: \(failures)")
            #expect(try await store.activation(id: "race")?.registrationsCount == 3)
            #expect(try await store.instances().map(\.id) == winners.sorted())
        }
    }

    @Test("a registered instance carries the activation's tags", arguments: StoreKind.tested)
    func instanceTagsFromActivation(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let tags = ["env": "staging", "role": "db", "owner": "ops team"]
            try await store.insertActivation(makeActivation(id: "tagged", tags: tags))
            // The record passed in carries no tags: the store copies them from the activation.
            let bare = makeInstance(activationID: "tagged")
            try await store.registerInstance(bare, activationID: "tagged", now: at(0))
            var expected = bare
            expected.tags = tags
            #expect(try await store.instance(id: bare.id) == expected)
            #expect(try await store.instances() == [expected])

            // Tags already on the record are kept too, and win over the activation's value for the same key.
            let withOwn = makeInstance(activationID: "tagged", tags: ["role": "replica", "zone": "b"])
            try await store.registerInstance(withOwn, activationID: "tagged", now: at(0))
            #expect(try await store.instance(id: withOwn.id)?.tags == ["env": "staging", "role": "replica", "owner": "ops team", "zone": "b"])

            // Instances get a copy: changing one instance's tags leaves the activation and the others alone.
            #expect(try await store.setTags(instanceID: bare.id, tags: ["env": "prod"]))
            #expect(try await store.activation(id: "tagged")?.tags == tags)
            #expect(try await store.instance(id: withOwn.id)?.tags["env"] == "staging")
        }
    }

    // MARK: Tags

    @Test("setTags adds and replaces, removeTags removes", arguments: StoreKind.tested)
    func tagEditing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.insertActivation(makeActivation(id: "act", tags: ["env": "dev"]))
            let instance = try await register(store, activationID: "act")
            let other = try await register(store, activationID: "act")

            #expect(try await store.setTags(instanceID: instance.id, tags: ["role": "web", "env": "prod"]))
            #expect(try await store.instance(id: instance.id)?.tags == ["env": "prod", "role": "web"])
            #expect(try await store.instances().first { $0.id == instance.id }?.tags == ["env": "prod", "role": "web"])

            // Upsert of an existing key; empty values are values.
            #expect(try await store.setTags(instanceID: instance.id, tags: ["role": "api", "empty": ""]))
            #expect(try await store.instance(id: instance.id)?.tags == ["env": "prod", "role": "api", "empty": ""])

            // Removing a present and an absent key.
            #expect(try await store.removeTags(instanceID: instance.id, keys: ["role", "not-there"]))
            #expect(try await store.instance(id: instance.id)?.tags == ["env": "prod", "empty": ""])
            #expect(try await store.setTags(instanceID: instance.id, tags: [:]))
            #expect(try await store.removeTags(instanceID: instance.id, keys: []))
            #expect(try await store.instance(id: instance.id)?.tags == ["env": "prod", "empty": ""])

            // The other instance was never touched.
            #expect(try await store.instance(id: other.id)?.tags == ["env": "dev"])

            // Unknown or deregistered instances.
            #expect(try await store.setTags(instanceID: "mi-0000000000000dead", tags: ["a": "b"]) == false)
            #expect(try await store.removeTags(instanceID: "mi-0000000000000dead", keys: ["a"]) == false)
            #expect(try await store.deregisterInstance(id: other.id, at: at(5)))
            #expect(try await store.setTags(instanceID: other.id, tags: ["a": "b"]) == false)
            #expect(try await store.removeTags(instanceID: other.id, keys: ["env"]) == false)
            #expect(try await store.instance(id: other.id)?.tags == ["env": "dev"])
        }
    }

    @Test("the tag limit throws without losing existing tags", arguments: StoreKind.tested)
    func tagLimit(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.insertActivation(makeActivation(id: "act"))
            let instance = try await register(store, activationID: "act")
            let full = Dictionary(uniqueKeysWithValues: (0..<Tags.maxTagsPerInstance).map { ("key\($0)", "value\($0)") })
            #expect(try await store.setTags(instanceID: instance.id, tags: full))
            #expect(try await store.instance(id: instance.id)?.tags == full)

            // Replacing values at the limit is fine: the count does not grow.
            var replaced = full
            replaced["key0"] = "changed"
            #expect(try await store.setTags(instanceID: instance.id, tags: ["key0": "changed"]))
            #expect(try await store.instance(id: instance.id)?.tags == replaced)

            // One more key is refused, and the whole call is undone, including its upsert.
            await expectError(.validation) {
                _ = try await store.setTags(instanceID: instance.id, tags: ["key1": "also-changed", "one-too-many": "x"])
            }
            #expect(try await store.instance(id: instance.id)?.tags == replaced)

            // After making room it fits again.
            #expect(try await store.removeTags(instanceID: instance.id, keys: ["key49"]))
            #expect(try await store.setTags(instanceID: instance.id, tags: ["one-too-many": "x"]))
            #expect(try await store.instance(id: instance.id)?.tags.count == Tags.maxTagsPerInstance)
        }
    }

    // MARK: Instance state

    @Test("deregisterInstance hides the instance and is not repeated", arguments: StoreKind.tested)
    func deregistration(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.insertActivation(makeActivation(id: "act", tags: ["env": "prod"]))
            let a = try await register(store, activationID: "act", id: "mi-0000000000000000a")
            let b = try await register(store, activationID: "act", id: "mi-0000000000000000b")
            try await store.recordHello(instanceID: b.id, report: AgentReport(agentVersion: "1.0.0", platformName: "Debian", platformVersion: "12", hostname: "b", ipAddress: nil), at: at(1))
            #expect(try await store.instances().map(\.id) == [a.id, b.id])

            #expect(try await store.deregisterInstance(id: b.id, at: at(10)))
            #expect(try await store.instances().map(\.id) == [a.id])
            let gone = try #require(try await store.instance(id: b.id))
            #expect(gone.state == .deregistered)
            #expect(gone.deregisteredAt == at(10))
            #expect(gone.pingStatus == .connectionLost)
            #expect(gone.tags == ["env": "prod"])

            #expect(try await store.deregisterInstance(id: b.id, at: at(20)) == false)
            #expect(try await store.instance(id: b.id)?.deregisteredAt == at(10))
            // Deregistering gives nothing back to the activation.
            #expect(try await store.activation(id: "act")?.registrationsCount == 2)

            // A late hello does not bring it back.
            try await store.recordHello(instanceID: b.id, report: AgentReport(agentVersion: "1.0.1", platformName: "Debian", platformVersion: "12", hostname: "b", ipAddress: nil), at: at(30))
            #expect(try await store.instance(id: b.id)?.pingStatus == .connectionLost)
            #expect(try await store.instance(id: b.id)?.agentVersion == "1.0.0")
            #expect(try await store.instances().map(\.id) == [a.id])
        }
    }

    @Test("recordHello, setPingStatus and recordPings round-trip", arguments: StoreKind.tested)
    func helloAndPings(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.insertActivation(makeActivation(id: "act", limit: 10))
            let a = try await register(store, activationID: "act", id: "mi-0000000000000000a")
            let b = try await register(store, activationID: "act", id: "mi-0000000000000000b")
            let c = try await register(store, activationID: "act", id: "mi-0000000000000000c")
            #expect(try await store.instance(id: a.id)?.pingStatus == .connectionLost)
            #expect(try await store.instance(id: a.id)?.lastPingAt == nil)

            let report = AgentReport(agentVersion: "0.3.1", platformName: "Ubuntu", platformVersion: "24.04", hostname: "web-1.example", ipAddress: "10.0.0.7")
            try await store.recordHello(instanceID: a.id, report: report, at: at(5))
            var expected = a
            expected.agentVersion = "0.3.1"
            expected.platformName = "Ubuntu"
            expected.platformVersion = "24.04"
            expected.hostname = "web-1.example"
            expected.ipAddress = "10.0.0.7"
            expected.pingStatus = .online
            expected.lastPingAt = at(5)
            #expect(try await store.instance(id: a.id) == expected)

            // A nil address clears the previous one.
            try await store.recordHello(instanceID: b.id, report: AgentReport(agentVersion: "0.3.1", platformName: "Debian", platformVersion: "12", hostname: "b", ipAddress: nil), at: at(6))
            #expect(try await store.instance(id: b.id)?.ipAddress == nil)
            #expect(try await store.instance(id: b.id)?.pingStatus == .online)

            // Batched heartbeats, with more ids than one statement takes and unknown ids mixed in.
            let unknown = (0..<600).map { String(format: "mi-%017x", $0 + 1_000_000) }
            try await store.recordPings(instanceIDs: unknown + [a.id, c.id], at: at(60))
            #expect(try await store.instance(id: a.id)?.lastPingAt == at(60))
            #expect(try await store.instance(id: c.id)?.lastPingAt == at(60))
            #expect(try await store.instance(id: b.id)?.lastPingAt == at(6))
            try await store.recordPings(instanceIDs: [], at: at(70))

            try await store.setPingStatus(instanceIDs: [a.id, b.id] + unknown, status: .connectionLost, at: at(90))
            #expect(try await store.instance(id: a.id)?.pingStatus == .connectionLost)
            #expect(try await store.instance(id: b.id)?.pingStatus == .connectionLost)
            // Losing the connection keeps the last heartbeat time.
            #expect(try await store.instance(id: a.id)?.lastPingAt == at(60))
            try await store.setPingStatus(instanceIDs: [c.id], status: .online, at: at(91))
            #expect(try await store.instances().map(\.pingStatus) == [.connectionLost, .connectionLost, .online])
            try await store.setPingStatus(instanceIDs: [], status: .online, at: at(92))
            #expect(try await store.instance(id: a.id)?.pingStatus == .connectionLost)
        }
    }

    @Test("updateCertificate replaces serial and expiry, keeping the previous serial", arguments: StoreKind.tested)
    func certificateUpdate(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.insertActivation(makeActivation(id: "act"))
            let instance = try await register(store, activationID: "act")
            let other = try await register(store, activationID: "act")
            try await store.updateCertificate(instanceID: instance.id, serial: "123456789012345678901234567890", notAfter: at(86_400 * 90))
            var expected = instance
            expected.certificateSerial = "123456789012345678901234567890"
            expected.previousCertificateSerial = instance.certificateSerial
            expected.certificateNotAfter = at(86_400 * 90)
            #expect(try await store.instance(id: instance.id) == expected)
            #expect(try await store.instance(id: other.id) == other)
            // A second renewal keeps only the one before it.
            try await store.updateCertificate(instanceID: instance.id, serial: "2", notAfter: at(86_400 * 180))
            #expect(try await store.instance(id: instance.id)?.previousCertificateSerial == "123456789012345678901234567890")
            #expect(try await store.instance(id: instance.id)?.certificateSerial == "2")
            // A deregistered instance's certificate is not renewed.
            _ = try await store.deregisterInstance(id: other.id, at: at(1))
            try await store.updateCertificate(instanceID: other.id, serial: "3", notAfter: at(86_400 * 180))
            #expect(try await store.instance(id: other.id)?.certificateSerial == other.certificateSerial)
        }
    }

    // MARK: Tokens

    // MARK: Commands

    func makeCommand(id: String = "cmd-" + Identifiers.randomHex(8), targets: Int, createdAt: Double = 0) -> (CommandRecord, [InvocationRecord]) {
        let command = CommandRecord(
            id: id, documentName: "Tender-RunShellScript", documentVersion: 0, parametersJSON: #"{"commands":["echo hi"]}"#,
            targetsJSON: #"["*"]"#, stepsJSON: "[]", maxConcurrency: .percent(50), maxErrors: .count(0), deliveryTimeoutSeconds: 600,
            comment: "test", createdAt: at(createdAt), createdBy: "tok-1", targetCount: targets
        )
        let invocations = (0..<targets).map { i in
            InvocationRecord(commandID: id, instanceID: String(format: "mi-%017x", i + 1), position: i, updatedAt: at(createdAt))
        }
        return (command, invocations)
    }

    @Test("a command is stored whole with its invocations, in target order", arguments: StoreKind.tested)
    func commandInsert(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let (command, invocations) = makeCommand(targets: 450)
            try await store.insertCommand(command, invocations: invocations)
            #expect(try await store.command(id: command.id) == command)
            let stored = try await store.invocations(commandID: command.id)
            #expect(stored == invocations)
            #expect(try await store.activeCommands().map(\.id) == [command.id])
            let (newer, newerInvocations) = makeCommand(targets: 1, createdAt: 5)
            try await store.insertCommand(newer, invocations: newerInvocations)
            #expect(try await store.commands(limit: 10).map(\.id) == [newer.id, command.id])
            #expect(try await store.commands(limit: 1).map(\.id) == [newer.id])
            // A duplicate id fails and leaves nothing half-written.
            let (dup, dupInvocations) = makeCommand(id: command.id, targets: 3)
            await #expect(throws: (any Error).self) { try await store.insertCommand(dup, invocations: dupInvocations) }
            #expect(try await store.invocations(commandID: command.id).count == 450)
        }
    }

    @Test("invocation transitions apply once, record events, and keep output", arguments: StoreKind.tested)
    func invocationTransitions(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let (command, invocations) = makeCommand(targets: 2)
            try await store.insertCommand(command, invocations: invocations)
            let id = invocations[0].instanceID
            let sent = try await store.transitionInvocation(commandID: command.id, instanceID: id, InvocationTransition(
                from: [.pending, .delayed], to: .inProgress, details: StatusDetails.inProgress, countAttempt: true, sentAt: at(1), startedAt: at(1)), at: at(1))
            #expect(sent?.status == .inProgress)
            #expect(sent?.attempts == 1)
            #expect(sent?.startedAt == at(1))
            // A resend keeps the status: it counts the attempt and is not an event.
            let resent = try await store.transitionInvocation(commandID: command.id, instanceID: id, InvocationTransition(
                from: [.inProgress], to: .inProgress, details: StatusDetails.inProgress, countAttempt: true, sentAt: at(1.5)), at: at(1.5))
            #expect(resent?.attempts == 2)
            let result = InvocationTransition(from: [.inProgress], to: .success, details: StatusDetails.success, responseCode: 0,
                                              stdout: "hi\n", stderr: "", endedAt: at(2))
            let done = try await store.transitionInvocation(commandID: command.id, instanceID: id, result, at: at(2))
            #expect(done?.status == .success)
            #expect(done?.stdout == "hi\n")
            #expect(done?.responseCode == 0)
            // The same result again (a redelivery) does not apply and records nothing.
            #expect(try await store.transitionInvocation(commandID: command.id, instanceID: id, result, at: at(3)) == nil)
            #expect(try await store.transitionInvocation(commandID: command.id, instanceID: "mi-00000000000000009", result, at: at(3)) == nil)

            try await store.updateCommand(id: command.id, status: .inProgress, statusDetails: StatusDetails.inProgress, completedCount: 1, errorCount: 0, deliveryTimedOutCount: 0, finishedAt: nil, at: at(2))
            try await store.updateCommand(id: command.id, status: .inProgress, statusDetails: StatusDetails.inProgress, completedCount: 1, errorCount: 0, deliveryTimedOutCount: 0, finishedAt: nil, at: at(2))
            #expect(try await store.command(id: command.id)?.completedCount == 1)

            let events = try await store.events(after: 0, limit: 100)
            #expect(events.map(\.status) == ["Pending", "InProgress", "Success", "InProgress"], "one event per change, none for a repeat")
            #expect(events.map(\.seq) == events.map(\.seq).sorted())
            #expect(events[1].instanceID == id && events[3].instanceID == nil)
            #expect(try await store.events(after: events[1].seq, limit: 1).map(\.status) == ["Success"])

            #expect(try await store.requestCancel(commandID: command.id, at: at(4)))
            #expect(try await store.command(id: command.id)?.cancelRequestedAt == at(4))
            try await store.updateCommand(id: command.id, status: .cancelled, statusDetails: StatusDetails.cancelled, completedCount: 2, errorCount: 0, deliveryTimedOutCount: 0, finishedAt: at(5), at: at(5))
            #expect(try await !store.requestCancel(commandID: command.id, at: at(6)), "a finished command cannot be cancelled")
            #expect(try await store.activeCommands().isEmpty)
            #expect(try await store.command(id: command.id)?.finishedAt == at(5))
        }
    }

    @Test("batched transitions: same transition for many, and many different ones in one transaction", arguments: StoreKind.tested)
    func batchedTransitions(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let (command, invocations) = makeCommand(targets: 1200)
            try await store.insertCommand(command, invocations: invocations)
            let ids = invocations.map(\.instanceID)
            // Sends: one transition for 1,199 of them (more than one statement's worth).
            let sent = try await store.transitionInvocations(commandID: command.id, instanceIDs: Array(ids.dropLast()), InvocationTransition(
                from: [.pending, .delayed], to: .inProgress, details: StatusDetails.inProgress, countAttempt: true, sentAt: at(1)), at: at(1))
            #expect(sent.count == 1199)
            let sentAt = at(1)
            #expect(sent.allSatisfy { $0.status == .inProgress && $0.sentAt == sentAt && $0.startedAt == nil })
            // Again: none is still pending, so none applies.
            #expect(try await store.transitionInvocations(commandID: command.id, instanceIDs: ids, InvocationTransition(
                from: [.pending], to: .inProgress, details: StatusDetails.inProgress, sentAt: at(2)), at: at(2)).map(\.instanceID) == [ids[1199]])

            // Reports: starts and results of different shapes, with their own values,
            // a repeated result, and an unknown invocation, all in one call.
            func result(_ i: Int, code: Int) -> InvocationUpdate {
                InvocationUpdate(commandID: command.id, instanceID: ids[i], transition: InvocationTransition(
                    from: [.pending, .delayed, .inProgress], to: code == 0 ? .success : .failed, details: code == 0 ? StatusDetails.success : StatusDetails.failed,
                    responseCode: code, stdout: "out \(i)", stderr: "", startedAt: at(3), endedAt: at(Double(4 + i))))
            }
            let started = InvocationUpdate(commandID: command.id, instanceID: ids[10], transition: InvocationTransition(
                from: [.pending, .delayed, .inProgress], to: .inProgress, details: StatusDetails.inProgress, startedAt: at(3.5)))
            let updates = [started, result(0, code: 0), result(1, code: 7), result(0, code: 0),
                           InvocationUpdate(commandID: command.id, instanceID: "mi-not-a-target", transition: result(2, code: 0).transition),
                           result(2, code: 0)]
            let applied = try await store.transitionInvocations(updates, at: at(5))
            #expect(applied == [true, true, true, false, false, true])
            let stored = try await store.invocations(commandID: command.id)
            let first = stored[0], second = stored[1], third = stored[2], fourth = stored[3], eleventh = stored[10]
            #expect(first.status == .success)
            #expect(first.stdout == "out 0")
            #expect(first.responseCode == 0)
            #expect(first.endedAt == at(4))
            #expect(first.startedAt == at(3), "a result sets startedAt when the start was never reported")
            #expect(second.status == .failed)
            #expect(second.responseCode == 7)
            #expect(second.stdout == "out 1")
            #expect(second.endedAt == at(5))
            #expect(third.status == .success)
            #expect(third.stdout == "out 2")
            #expect(eleventh.status == .inProgress)
            #expect(eleventh.startedAt == at(3.5))
            #expect(fourth.status == .inProgress)
            #expect(fourth.startedAt == nil, "untouched")
            // The dispatcher's view agrees with the full rows.
            let states = try await store.invocationStates(commandID: command.id)
            #expect(states == stored.map(InvocationState.init))
            // One event per change: 1,199 sends, the late send, one start, three results.
            let events = try await store.events(after: 0, limit: 10_000).filter { $0.instanceID != nil }
            let expectedEvents = 1199 + 1 + 1 + 3
            #expect(events.count == expectedEvents)
            #expect(events.suffix(4).map(\.status) == ["InProgress", "Success", "Failed", "Success"])
        }
    }

    /// A result setting every column a transition can set, and the same with each one
    /// left out, each one alone, and none: every way the columns of a statement shift.
    func transitionShapes() -> [InvocationTransition] {
        let full = InvocationTransition(from: [.inProgress], to: .success, details: StatusDetails.success, responseCode: 3, stdout: "out",
                                        stderr: "err", outputBlob: "blob-1", countAttempt: true, sentAt: at(2), startedAt: at(3), endedAt: at(4))
        let clears: [(inout InvocationTransition) -> Void] = [
            { $0.responseCode = nil }, { $0.stdout = nil }, { $0.stderr = nil }, { $0.outputBlob = nil },
            { $0.countAttempt = false }, { $0.sentAt = nil }, { $0.startedAt = nil }, { $0.endedAt = nil },
        ]
        func keeping(_ kept: Set<Int>) -> InvocationTransition {
            var t = full
            for (i, clear) in clears.enumerated() where !kept.contains(i) { clear(&t) }
            return t
        }
        let all = Set(clears.indices)
        return [keeping(all), keeping([])] + clears.indices.map { keeping(all.subtracting([$0])) } + clears.indices.map { keeping([$0]) }
    }

    @Test("every transition shape is applied alike by the single-row, same-for-many and batched statements", arguments: StoreKind.tested)
    func transitionFormsAgree(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let shapes = transitionShapes()
            // Four invocations per shape: one for each form, and a second row in the batch.
            let (command, invocations) = makeCommand(targets: shapes.count * 4)
            try await store.insertCommand(command, invocations: invocations)
            let ids = invocations.map(\.instanceID)
            let start = InvocationTransition(from: [.pending], to: .inProgress, details: StatusDetails.inProgress,
                                             countAttempt: true, sentAt: at(1), startedAt: at(1))
            #expect(try await store.transitionInvocations(commandID: command.id, instanceIDs: ids, start, at: at(1)).count == ids.count)

            var batch: [InvocationUpdate] = []
            for (s, t) in shapes.enumerated() {
                #expect(try await store.transitionInvocation(commandID: command.id, instanceID: ids[4 * s], t, at: at(5)) != nil)
                #expect(try await store.transitionInvocations(commandID: command.id, instanceIDs: [ids[4 * s + 1]], t, at: at(5)).count == 1)
                batch += [InvocationUpdate(commandID: command.id, instanceID: ids[4 * s + 2], transition: t),
                          InvocationUpdate(commandID: command.id, instanceID: ids[4 * s + 3], transition: t)]
            }
            #expect(try await store.transitionInvocations(batch, at: at(5)) == Array(repeating: true, count: batch.count))

            let stored = try await store.invocations(commandID: command.id)
            for (s, t) in shapes.enumerated() {
                // What was set is written, what was not is left, the start stays the first
                // one reported, and a counted attempt adds one.
                func expected(_ i: Int) -> InvocationRecord {
                    InvocationRecord(commandID: command.id, instanceID: ids[i], position: i, status: t.to, statusDetails: t.details,
                                     responseCode: t.responseCode, stdout: t.stdout ?? "", stderr: t.stderr ?? "", outputBlob: t.outputBlob,
                                     attempts: t.countAttempt ? 2 : 1, sentAt: t.sentAt ?? at(1), startedAt: at(1), endedAt: t.endedAt,
                                     updatedAt: at(5))
                }
                for (form, i) in zip(["single-row", "same-for-many", "batched", "batched, second row"], 4 * s ..< 4 * s + 4) {
                    #expect(stored[i] == expected(i), "\(form), shape \(s)")
                }
            }
        }
    }

    @Test("recordHellos marks many instances Online with what they reported", arguments: StoreKind.tested)
    func batchedHellos(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let activation = makeActivation(limit: 3)
            try await store.insertActivation(activation)
            let a = makeInstance(activationID: activation.id), b = makeInstance(activationID: activation.id)
            try await store.registerInstance(a, activationID: activation.id, now: at(0))
            try await store.registerInstance(b, activationID: activation.id, now: at(0))
            _ = try await store.deregisterInstance(id: b.id, at: at(1))
            let report = AgentReport(agentVersion: "1.2.3", platformName: "Debian", platformVersion: "12", hostname: "web-1", ipAddress: "10.0.0.1")
            try await store.recordHellos([(a.id, report), (b.id, report), ("mi-00000000000000009", report)], at: at(2))
            let stored = try #require(try await store.instance(id: a.id))
            #expect(stored.pingStatus == .online)
            #expect(stored.lastPingAt == at(2))
            #expect(stored.agentVersion == "1.2.3")
            #expect(stored.hostname == "web-1")
            #expect(try await store.instances().map(\.id) == [a.id], "a deregistered instance stays hidden and unchanged")
        }
    }

    @Test("documents are versioned; delete hides the name and a new create continues the numbering", arguments: StoreKind.tested)
    func documentVersions(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let v1 = try await store.createDocument(name: "Deploy-App", content: #"{"v":1}"#, at: at(0))
            #expect(v1.version == 1)
            await #expect(throws: TenderError.self) { _ = try await store.createDocument(name: "Deploy-App", content: "{}", at: at(1)) }
            let v2 = try await store.updateDocument(name: "Deploy-App", content: #"{"v":2}"#, at: at(2))
            #expect(v2.version == 2)
            #expect(try await store.document(name: "Deploy-App", version: nil)?.content == #"{"v":2}"#)
            #expect(try await store.document(name: "Deploy-App", version: 1)?.content == #"{"v":1}"#)
            #expect(try await store.document(name: "Deploy-App", version: 3) == nil)
            _ = try await store.createDocument(name: "Another", content: "{}", at: at(3))
            #expect(try await store.documents().map { "\($0.name)@\($0.version)" } == ["Another@1", "Deploy-App@2"])

            #expect(try await store.deleteDocument(name: "Deploy-App", at: at(4)))
            #expect(try await !store.deleteDocument(name: "Deploy-App", at: at(5)))
            #expect(try await store.document(name: "Deploy-App", version: nil) == nil)
            #expect(try await store.documents().map(\.name) == ["Another"])
            await #expect(throws: TenderError.self) { _ = try await store.updateDocument(name: "Deploy-App", content: "{}", at: at(6)) }
            let again = try await store.createDocument(name: "Deploy-App", content: #"{"v":3}"#, at: at(7))
            #expect(again.version == 3, "numbering continues after a delete so old commands keep pointing at their version")
            #expect(try await store.document(name: "Deploy-App", version: 2) == nil, "versions of the deleted document stay hidden")
        }
    }

    @Test("tokens insert, find by hash, list and revoke", arguments: StoreKind.tested)
    func tokenLifecycle(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let admin = TokenRecord(id: "tok-1", name: "admin", role: .admin, tokenHash: SecretHash.hash("secret-1"), createdAt: at(0), revokedAt: nil)
            let ci = TokenRecord(id: "tok-2", name: "ci", role: .operator, tokenHash: SecretHash.hash("secret-2"), createdAt: at(10), revokedAt: nil)
            let viewer = TokenRecord(id: "tok-3", name: "dashboard", role: .readOnly, tokenHash: SecretHash.hash("secret-3"), createdAt: at(5), revokedAt: nil)
            for token in [admin, ci, viewer] { try await store.insertToken(token) }

            #expect(try await store.token(hash: SecretHash.hash("secret-2")) == ci)
            #expect(try await store.token(hash: SecretHash.hash("secret-3")) == viewer)
            #expect(try await store.token(hash: SecretHash.hash("wrong")) == nil)
            // Oldest first.
            #expect(try await store.tokens() == [admin, viewer, ci])

            // Hashes are unique.
            await #expect(throws: (any Error).self) {
                try await store.insertToken(TokenRecord(id: "tok-4", name: "dup", role: .admin, tokenHash: admin.tokenHash, createdAt: at(20), revokedAt: nil))
            }

            #expect(try await store.revokeToken(id: "tok-2", at: at(30)))
            var revoked = ci
            revoked.revokedAt = at(30)
            #expect(try await store.token(hash: ci.tokenHash) == revoked)
            #expect(try await store.tokens() == [admin, viewer, revoked])
            #expect(try await store.revokeToken(id: "tok-2", at: at(40)) == false)
            #expect(try await store.token(hash: ci.tokenHash)?.revokedAt == at(30))
        }
    }

    // MARK: Unknown ids

    @Test("unknown ids give nil or false", arguments: StoreKind.tested)
    func unknownIDs(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let missing = "mi-0000000000000beef"
            #expect(try await store.activation(id: "nope") == nil)
            #expect(try await store.activations().isEmpty)
            #expect(try await store.deleteActivation(id: "nope", at: at(0)) == false)
            #expect(try await store.instance(id: missing) == nil)
            #expect(try await store.instances().isEmpty)
            #expect(try await store.setTags(instanceID: missing, tags: ["a": "b"]) == false)
            #expect(try await store.removeTags(instanceID: missing, keys: ["a"]) == false)
            #expect(try await store.deregisterInstance(id: missing, at: at(0)) == false)
            #expect(try await store.token(hash: "0000") == nil)
            #expect(try await store.tokens().isEmpty)
            #expect(try await store.revokeToken(id: "nope", at: at(0)) == false)
            // Updates of unknown instances are no-ops, not errors.
            try await store.recordHello(instanceID: missing, report: AgentReport(agentVersion: "1", platformName: "x", platformVersion: "1", hostname: "h", ipAddress: nil), at: at(0))
            try await store.setPingStatus(instanceIDs: [missing], status: .online, at: at(0))
            try await store.recordPings(instanceIDs: [missing], at: at(0))
            try await store.updateCertificate(instanceID: missing, serial: "1", notAfter: at(0))
            #expect(try await store.instance(id: missing) == nil)
        }
    }

    // MARK: Durability

    @Test("data survives closing and reopening the store", arguments: StoreKind.tested)
    func reopen(kind: StoreKind) async throws {
        try await TestDatabase.with(kind) { database in
            let activation = makeActivation(id: "act", limit: 4, tags: ["env": "prod"], name: "db", description: "databases")
            let token = TokenRecord(id: "tok", name: "admin", role: .admin, tokenHash: SecretHash.hash("s"), createdAt: at(0), revokedAt: nil)
            let instance: InstanceRecord
            let deleted = makeActivation(id: "gone", createdAt: 1)

            let first = try await database.open()
            do {
                try await first.migrate()
                try await first.insertActivation(activation)
                try await first.insertActivation(deleted)
                _ = try await first.deleteActivation(id: "gone", at: at(2))
                instance = try await register(first, activationID: "act")
                _ = try await first.setTags(instanceID: instance.id, tags: ["role": "primary"])
                try await first.recordHello(instanceID: instance.id, report: AgentReport(agentVersion: "1.2.3", platformName: "Debian", platformVersion: "12", hostname: "db-1", ipAddress: "192.0.2.1"), at: at(3))
                try await first.insertToken(token)
                await first.shutdown()
            } catch {
                await first.shutdown()
                throw error
            }

            let second = try await database.open()
            do {
                try await second.migrate()
                #expect(try await second.schemaVersion() == Migrations.all.last?.version)
                var expectedActivation = activation
                expectedActivation.registrationsCount = 1
                #expect(try await second.activation(id: "act") == expectedActivation)
                #expect(try await second.activations() == [expectedActivation])
                #expect(try await second.activation(id: "gone")?.deletedAt == at(2))
                var expectedInstance = instance
                expectedInstance.tags = ["env": "prod", "role": "primary"]
                expectedInstance.agentVersion = "1.2.3"
                expectedInstance.platformName = "Debian"
                expectedInstance.platformVersion = "12"
                expectedInstance.hostname = "db-1"
                expectedInstance.ipAddress = "192.0.2.1"
                expectedInstance.pingStatus = .online
                expectedInstance.lastPingAt = at(3)
                #expect(try await second.instance(id: instance.id) == expectedInstance)
                #expect(try await second.instances() == [expectedInstance])
                #expect(try await second.token(hash: token.tokenHash) == token)
                // And it still takes writes.
                try await register(second, activationID: "act")
                #expect(try await second.activation(id: "act")?.registrationsCount == 2)
                await second.shutdown()
            } catch {
                await second.shutdown()
                throw error
            }
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
