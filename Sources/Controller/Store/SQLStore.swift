import Foundation
import Logging
import SQLKit
import TenderAPI
import TenderWire

/// The `Store` written once in SQL that SQLite and PostgreSQL both accept.
public final class SQLStore: Store {
    private let backend: any SQLBackend
    public var backendName: String { backend.name }

    init(backend: any SQLBackend) {
        self.backend = backend
    }

    /// The embedded default: `path` is the SQLite file.
    public static func sqlite(path: String, logger: Logger) async throws -> SQLStore {
        SQLStore(backend: try await SQLiteBackend.open(path: path, logger: logger))
    }

    /// `url` is `postgres://user:pass@host:port/db`.
    public static func postgres(url: String, logger: Logger) async throws -> SQLStore {
        SQLStore(backend: try await PostgresBackend(url: url, logger: logger))
    }

    public func shutdown() async {
        await backend.shutdown()
    }

    // MARK: Migrations

    public func migrate() async throws {
        try await backend.withMigrationLock { db in
            try await db.raw("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """).run()
            let applied = Set(try await db.raw("SELECT version FROM schema_migrations").all().map { try $0.decode(column: "version", as: Int.self) })
            // A newer controller migrated this database: an older one must not write to it.
            if let newest = applied.max(), let known = Migrations.all.last?.version, newest > known {
                throw TenderError(.conflict, "the database is at schema version \(newest), newer than this controller knows (\(known)); run the newer tender-controller")
            }
            for migration in Migrations.all where !applied.contains(migration.version) {
                try await db.raw("BEGIN").run()
                do {
                    for statement in migration.statements(for: backend.name) {
                        try await db.raw(SQLQueryString(statement)).run()
                    }
                    try await db.raw("INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Millis.now()))").run()
                    try await db.raw("COMMIT").run()
                } catch {
                    try? await db.raw("ROLLBACK").run()
                    throw TenderError(.internalError, "migration \(migration.version) (\(migration.name)) failed: \(String(reflecting: error))")
                }
            }
        }
    }

    public func schemaVersion() async throws -> Int {
        try await backend.withDatabase { db in
            try await db.raw("SELECT MAX(version) AS v FROM schema_migrations").first()?.decode(column: "v", as: Int?.self) ?? 0
        }
    }

    // MARK: Activations

    public func insertActivation(_ a: ActivationRecord) async throws {
        let tags = try Self.encodeTags(a.tags)
        try await backend.withDatabase { db in
            try await db.raw("""
                INSERT INTO activations (id, code_hash, registration_limit, registrations_count, expires_at,
                    default_instance_name, description, tags_json, created_at, deleted_at)
                VALUES (\(bind: a.id), \(bind: a.codeHash), \(bind: a.registrationLimit), \(bind: a.registrationsCount),
                    \(bind: Millis.from(a.expiresAt)), \(bind: a.defaultInstanceName), \(bind: a.description), \(bind: tags),
                    \(bind: Millis.from(a.createdAt)), \(bind: a.deletedAt.map(Millis.from)))
                """).run()
        }
    }

    public func activation(id: String) async throws -> ActivationRecord? {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM activations WHERE id = \(bind: id)").first().map(Self.activation(from:))
        }
    }

    public func activations() async throws -> [ActivationRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM activations WHERE deleted_at IS NULL ORDER BY created_at DESC, id").all().map(Self.activation(from:))
        }
    }

    public func deleteActivation(id: String, at: Date) async throws -> Bool {
        try await backend.withDatabase { db in
            let rows = try await db.raw("UPDATE activations SET deleted_at = \(bind: Millis.from(at)) WHERE id = \(bind: id) AND deleted_at IS NULL RETURNING id").all()
            return !rows.isEmpty
        }
    }

    private static func activation(from row: any SQLRow) throws -> ActivationRecord {
        ActivationRecord(
            id: try row.decode(column: "id", as: String.self),
            codeHash: try row.decode(column: "code_hash", as: String.self),
            registrationLimit: try row.decode(column: "registration_limit", as: Int.self),
            registrationsCount: try row.decode(column: "registrations_count", as: Int.self),
            expiresAt: Millis.date(try row.decode(column: "expires_at", as: Int.self)),
            defaultInstanceName: try row.decode(column: "default_instance_name", as: String?.self),
            description: try row.decode(column: "description", as: String?.self),
            tags: try decodeTags(try row.decode(column: "tags_json", as: String.self)),
            createdAt: Millis.date(try row.decode(column: "created_at", as: Int.self)),
            deletedAt: try row.decode(column: "deleted_at", as: Int?.self).map(Millis.date)
        )
    }

    // MARK: Instances

    public func registerInstance(_ instance: InstanceRecord, activationID: String, now: Date) async throws {
        try await backend.transaction { db in
            // One conditional UPDATE both checks and counts, so two agents racing for the
            // last registration cannot both win, on either database.
            let counted = try await db.raw("""
                UPDATE activations SET registrations_count = registrations_count + 1
                WHERE id = \(bind: activationID) AND deleted_at IS NULL AND expires_at > \(bind: Millis.from(now))
                  AND registrations_count < registration_limit
                RETURNING tags_json
                """).all()
            if counted.isEmpty {
                guard let row = try await db.raw("SELECT * FROM activations WHERE id = \(bind: activationID)").first() else {
                    throw TenderError(.activationNotFound, "activation \(activationID) does not exist")
                }
                let activation = try Self.activation(from: row)
                if activation.deletedAt != nil {
                    throw TenderError(.activationDeleted, "activation \(activationID) was deleted")
                }
                if activation.expiresAt <= now {
                    throw TenderError(.activationExpired, "activation \(activationID) expired at \(ISOTime.format(activation.expiresAt))")
                }
                throw TenderError(.activationLimitReached, "activation \(activationID) has reached its registration limit of \(activation.registrationLimit)")
            }
            try await db.raw("""
                INSERT INTO instances (id, name, activation_id, registered_at, state, deregistered_at, certificate_serial,
                    certificate_not_after, ping_status, last_ping_at, agent_version, platform_name, platform_version, hostname, ip_address)
                VALUES (\(bind: instance.id), \(bind: instance.name), \(bind: activationID), \(bind: Millis.from(instance.registeredAt)),
                    \(bind: instance.state.rawValue), NULL, \(bind: instance.certificateSerial), \(bind: Millis.from(instance.certificateNotAfter)),
                    \(bind: instance.pingStatus.rawValue), \(bind: instance.lastPingAt.map(Millis.from)), \(bind: instance.agentVersion),
                    \(bind: instance.platformName), \(bind: instance.platformVersion), \(bind: instance.hostname), \(bind: instance.ipAddress))
                """).run()
            // The activation's tags, with any set on the record itself taking precedence.
            var tags = try Self.decodeTags(try counted[0].decode(column: "tags_json", as: String.self))
            tags.merge(instance.tags) { _, own in own }
            for (key, value) in tags {
                try await db.raw("INSERT INTO instance_tags (instance_id, tag_key, tag_value) VALUES (\(bind: instance.id), \(bind: key), \(bind: value))").run()
            }
        }
    }

    public func instance(id: String) async throws -> InstanceRecord? {
        try await backend.withDatabase { db in
            guard let row = try await db.raw("SELECT * FROM instances WHERE id = \(bind: id)").first() else { return nil }
            var record = try Self.instance(from: row)
            for tag in try await db.raw("SELECT tag_key, tag_value FROM instance_tags WHERE instance_id = \(bind: id)").all() {
                record.tags[try tag.decode(column: "tag_key", as: String.self)] = try tag.decode(column: "tag_value", as: String.self)
            }
            return record
        }
    }

    public func instances() async throws -> [InstanceRecord] {
        try await backend.withDatabase { db in
            var records = try await db.raw("SELECT * FROM instances WHERE state = 'active' ORDER BY id").all().map(Self.instance(from:))
            var index: [String: Int] = [:]
            for (i, record) in records.enumerated() { index[record.id] = i }
            let tags = try await db.raw("""
                SELECT t.instance_id, t.tag_key, t.tag_value FROM instance_tags t
                JOIN instances i ON i.id = t.instance_id WHERE i.state = 'active'
                """).all()
            for tag in tags {
                if let i = index[try tag.decode(column: "instance_id", as: String.self)] {
                    records[i].tags[try tag.decode(column: "tag_key", as: String.self)] = try tag.decode(column: "tag_value", as: String.self)
                }
            }
            return records
        }
    }

    public func setTags(instanceID: String, tags: [String: String]) async throws -> Bool {
        try await backend.transaction { db in
            guard try await Self.isActive(instanceID, db) else { return false }
            for (key, value) in tags {
                try await db.raw("""
                    INSERT INTO instance_tags (instance_id, tag_key, tag_value) VALUES (\(bind: instanceID), \(bind: key), \(bind: value))
                    ON CONFLICT (instance_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value
                    """).run()
            }
            let count = try await db.raw("SELECT COUNT(*) AS n FROM instance_tags WHERE instance_id = \(bind: instanceID)").first()?.decode(column: "n", as: Int.self) ?? 0
            if count > Tags.maxTagsPerInstance {
                throw TenderError.validation("an instance can carry at most \(Tags.maxTagsPerInstance) tags; this would make \(count)")
            }
            return true
        }
    }

    public func removeTags(instanceID: String, keys: [String]) async throws -> Bool {
        try await backend.transaction { db in
            guard try await Self.isActive(instanceID, db) else { return false }
            for key in keys {
                try await db.raw("DELETE FROM instance_tags WHERE instance_id = \(bind: instanceID) AND tag_key = \(bind: key)").run()
            }
            return true
        }
    }

    public func deregisterInstance(id: String, at: Date) async throws -> Bool {
        try await backend.withDatabase { db in
            let rows = try await db.raw("""
                UPDATE instances SET state = 'deregistered', deregistered_at = \(bind: Millis.from(at)), ping_status = \(bind: PingStatus.connectionLost.rawValue)
                WHERE id = \(bind: id) AND state = 'active' RETURNING id
                """).all()
            return !rows.isEmpty
        }
    }

    public func recordHello(instanceID: String, report: AgentReport, at: Date) async throws {
        try await recordHellos([(instanceID, report)], at: at)
    }

    public func recordHellos(_ hellos: [(instanceID: String, report: AgentReport)], at: Date) async throws {
        guard !hellos.isEmpty else { return }
        try await backend.transaction { db in
            for (instanceID, report) in hellos {
                try await db.raw("""
                    UPDATE instances SET agent_version = \(bind: report.agentVersion), platform_name = \(bind: report.platformName),
                        platform_version = \(bind: report.platformVersion), hostname = \(bind: report.hostname), ip_address = \(bind: report.ipAddress),
                        ping_status = \(bind: PingStatus.online.rawValue), last_ping_at = \(bind: Millis.from(at))
                    WHERE id = \(bind: instanceID) AND state = 'active'
                    """).run()
            }
        }
    }

    public func setPingStatus(instanceIDs: [String], status: PingStatus, at: Date) async throws {
        guard !instanceIDs.isEmpty else { return }
        try await backend.withDatabase { db in
            for chunk in instanceIDs.chunked(500) {
                try await db.raw("""
                    UPDATE instances SET ping_status = \(bind: status.rawValue)
                    WHERE state = 'active' AND id IN (\(binds: Array(chunk)))
                    """).run()
            }
        }
    }

    public func recordPings(instanceIDs: [String], at: Date) async throws {
        guard !instanceIDs.isEmpty else { return }
        try await backend.withDatabase { db in
            for chunk in instanceIDs.chunked(500) {
                // Also Online: a reconnect can race with the old channel's ConnectionLost write.
                try await db.raw("""
                    UPDATE instances SET last_ping_at = \(bind: Millis.from(at)), ping_status = \(bind: PingStatus.online.rawValue)
                    WHERE state = 'active' AND id IN (\(binds: Array(chunk)))
                    """).run()
            }
        }
    }

    public func updateCertificate(instanceID: String, serial: String, notAfter: Date) async throws {
        try await backend.withDatabase { db in
            try await db.raw("""
                UPDATE instances SET previous_certificate_serial = certificate_serial,
                    certificate_serial = \(bind: serial), certificate_not_after = \(bind: Millis.from(notAfter))
                WHERE id = \(bind: instanceID) AND state = 'active'
                """).run()
        }
    }

    public func instancesDeregistered(since: Date) async throws -> [String] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT id FROM instances WHERE state = 'deregistered' AND deregistered_at >= \(bind: Millis.from(since))").all()
                .map { try $0.decode(column: "id", as: String.self) }
        }
    }

    private static func isActive(_ id: String, _ db: any SQLDatabase) async throws -> Bool {
        try await db.raw("SELECT id FROM instances WHERE id = \(bind: id) AND state = 'active'").first() != nil
    }

    private static func instance(from row: any SQLRow) throws -> InstanceRecord {
        InstanceRecord(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            activationID: try row.decode(column: "activation_id", as: String.self),
            registeredAt: Millis.date(try row.decode(column: "registered_at", as: Int.self)),
            // An unknown state fails closed.
            state: InstanceState(rawValue: try row.decode(column: "state", as: String.self)) ?? .deregistered,
            deregisteredAt: try row.decode(column: "deregistered_at", as: Int?.self).map(Millis.date),
            certificateSerial: try row.decode(column: "certificate_serial", as: String.self),
            previousCertificateSerial: try row.decode(column: "previous_certificate_serial", as: String?.self),
            certificateNotAfter: Millis.date(try row.decode(column: "certificate_not_after", as: Int.self)),
            pingStatus: PingStatus(rawValue: try row.decode(column: "ping_status", as: String.self)) ?? .connectionLost,
            lastPingAt: try row.decode(column: "last_ping_at", as: Int?.self).map(Millis.date),
            agentVersion: try row.decode(column: "agent_version", as: String?.self),
            platformName: try row.decode(column: "platform_name", as: String?.self),
            platformVersion: try row.decode(column: "platform_version", as: String?.self),
            hostname: try row.decode(column: "hostname", as: String?.self),
            ipAddress: try row.decode(column: "ip_address", as: String?.self)
        )
    }

    // MARK: Documents

    public func createDocument(name: String, content: String, at: Date) async throws -> DocumentRecord {
        try await backend.transaction { db in
            // A deleted name may be reused: numbering continues so old versions stay distinct.
            let rows = try await db.raw("SELECT version, deleted_at FROM documents WHERE name = \(bind: name) ORDER BY version DESC").all()
            if let latest = rows.first, try latest.decode(column: "deleted_at", as: Int?.self) == nil {
                throw TenderError(.conflict, "document '\(name)' already exists; use update to add a version")
            }
            let version = try (rows.first?.decode(column: "version", as: Int.self) ?? 0) + 1
            try await db.raw("""
                INSERT INTO documents (name, version, content, created_at, deleted_at)
                VALUES (\(bind: name), \(bind: version), \(bind: content), \(bind: Millis.from(at)), NULL)
                """).run()
            return DocumentRecord(name: name, version: version, content: content, createdAt: Millis.date(Millis.from(at)))
        }
    }

    public func updateDocument(name: String, content: String, at: Date) async throws -> DocumentRecord {
        try await backend.transaction { db in
            guard let latest = try await db.raw("SELECT version FROM documents WHERE name = \(bind: name) AND deleted_at IS NULL ORDER BY version DESC").first() else {
                throw TenderError.notFound("document '\(name)' does not exist")
            }
            let version = try latest.decode(column: "version", as: Int.self) + 1
            try await db.raw("""
                INSERT INTO documents (name, version, content, created_at, deleted_at)
                VALUES (\(bind: name), \(bind: version), \(bind: content), \(bind: Millis.from(at)), NULL)
                """).run()
            return DocumentRecord(name: name, version: version, content: content, createdAt: Millis.date(Millis.from(at)))
        }
    }

    public func document(name: String, version: Int?) async throws -> DocumentRecord? {
        try await backend.withDatabase { db in
            let row: (any SQLRow)?
            if let version {
                row = try await db.raw("SELECT * FROM documents WHERE name = \(bind: name) AND version = \(bind: version) AND deleted_at IS NULL").first()
            } else {
                row = try await db.raw("SELECT * FROM documents WHERE name = \(bind: name) AND deleted_at IS NULL ORDER BY version DESC").first()
            }
            return try row.map(Self.document(from:))
        }
    }

    public func documents() async throws -> [DocumentRecord] {
        try await backend.withDatabase { db in
            try await db.raw("""
                SELECT d.* FROM documents d
                JOIN (SELECT name, MAX(version) AS version FROM documents WHERE deleted_at IS NULL GROUP BY name) latest
                  ON latest.name = d.name AND latest.version = d.version
                ORDER BY d.name
                """).all().map(Self.document(from:))
        }
    }

    public func deleteDocument(name: String, at: Date) async throws -> Bool {
        try await backend.withDatabase { db in
            !(try await db.raw("UPDATE documents SET deleted_at = \(bind: Millis.from(at)) WHERE name = \(bind: name) AND deleted_at IS NULL RETURNING version").all()).isEmpty
        }
    }

    private static func document(from row: any SQLRow) throws -> DocumentRecord {
        DocumentRecord(
            name: try row.decode(column: "name", as: String.self),
            version: try row.decode(column: "version", as: Int.self),
            content: try row.decode(column: "content", as: String.self),
            createdAt: Millis.date(try row.decode(column: "created_at", as: Int.self)),
            deletedAt: try row.decode(column: "deleted_at", as: Int?.self).map(Millis.date)
        )
    }

    // MARK: Commands

    public func insertCommand(_ c: CommandRecord, invocations: [InvocationRecord]) async throws {
        try await backend.transaction { db in
            try await db.raw("""
                INSERT INTO commands (id, document_name, document_version, parameters_json, targets_json, steps_json, max_concurrency,
                    max_errors, delivery_timeout_seconds, comment, created_at, created_by, cancel_requested_at, status, status_details,
                    target_count, completed_count, error_count, delivery_timed_out_count, finished_at)
                VALUES (\(bind: c.id), \(bind: c.documentName), \(bind: c.documentVersion), \(bind: c.parametersJSON), \(bind: c.targetsJSON),
                    \(bind: c.stepsJSON), \(bind: c.maxConcurrency.description), \(bind: c.maxErrors.description), \(bind: c.deliveryTimeoutSeconds),
                    \(bind: c.comment), \(bind: Millis.from(c.createdAt)), \(bind: c.createdBy), \(bind: c.cancelRequestedAt.map(Millis.from)),
                    \(bind: c.status.rawValue), \(bind: c.statusDetails), \(bind: c.targetCount), \(bind: c.completedCount), \(bind: c.errorCount),
                    \(bind: c.deliveryTimedOutCount), \(bind: c.finishedAt.map(Millis.from)))
                """).run()
            // Multi-row inserts keep a fan-out to thousands of targets to a few statements.
            for chunk in invocations.chunked(200) {
                var query = SQLQueryString("INSERT INTO invocations (command_id, instance_id, position, status, status_details, attempts, updated_at) VALUES ")
                for (i, inv) in chunk.enumerated() {
                    if i > 0 { query.appendLiteral(", ") }
                    query.appendInterpolation(unsafeRaw: "(")
                    query.appendInterpolation(bind: inv.commandID)
                    query.appendLiteral(", ")
                    query.appendInterpolation(bind: inv.instanceID)
                    query.appendLiteral(", ")
                    query.appendInterpolation(bind: inv.position)
                    query.appendLiteral(", ")
                    query.appendInterpolation(bind: inv.status.rawValue)
                    query.appendLiteral(", ")
                    query.appendInterpolation(bind: inv.statusDetails)
                    query.appendLiteral(", ")
                    query.appendInterpolation(bind: inv.attempts)
                    query.appendLiteral(", ")
                    query.appendInterpolation(bind: Millis.from(inv.updatedAt))
                    query.appendLiteral(")")
                }
                try await db.raw(query).run()
            }
            try await Self.recordEvent(db, at: c.createdAt, commandID: c.id, instanceID: nil, status: c.status.rawValue, details: c.statusDetails)
        }
    }

    public func command(id: String) async throws -> CommandRecord? {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM commands WHERE id = \(bind: id)").first().map(Self.command(from:))
        }
    }

    public func commands(limit: Int) async throws -> [CommandRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM commands ORDER BY created_at DESC, id LIMIT \(bind: limit)").all().map(Self.command(from:))
        }
    }

    public func activeCommands() async throws -> [CommandRecord] {
        let terminal = CommandStatus.allCases.filter(\.isTerminal).map(\.rawValue)
        return try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM commands WHERE status NOT IN (\(binds: terminal)) ORDER BY created_at, id").all().map(Self.command(from:))
        }
    }

    public func invocations(commandID: String) async throws -> [InvocationRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM invocations WHERE command_id = \(bind: commandID) ORDER BY position").all().map(Self.invocation(from:))
        }
    }

    public func invocation(commandID: String, instanceID: String) async throws -> InvocationRecord? {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM invocations WHERE command_id = \(bind: commandID) AND instance_id = \(bind: instanceID)").first().map(Self.invocation(from:))
        }
    }

    public func transitionInvocation(commandID: String, instanceID: String, _ t: InvocationTransition, at: Date) async throws -> InvocationRecord? {
        guard !t.from.isEmpty else { return nil }
        return try await backend.transaction { db in
            var query = Self.transitionSetClause(t, at: at)
            query.appendLiteral(" WHERE command_id = ")
            query.appendInterpolation(bind: commandID)
            query.appendLiteral(" AND instance_id = ")
            query.appendInterpolation(bind: instanceID)
            query.appendLiteral(" AND status IN (")
            query.appendInterpolation(binds: t.from.map(\.rawValue).sorted())
            query.appendLiteral(") RETURNING *")
            guard let row = try await db.raw(query).first() else { return nil }
            let updated = try Self.invocation(from: row)
            // A transition that cannot change the status (a resend) is not an event.
            if t.from != [t.to] {
                try await Self.recordEvents(db, [EventRow(commandID: commandID, instanceID: instanceID, status: updated.status.rawValue, details: updated.statusDetails)], at: at)
            }
            return updated
        }
    }

    public func invocationStates(commandID: String) async throws -> [InvocationState] {
        try await backend.withDatabase { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.stateColumns) FROM invocations WHERE command_id = \(bind: commandID) ORDER BY position
                """).all().map(Self.invocationState(from:))
        }
    }

    private static let stateColumns = "command_id, instance_id, status, status_details, sent_at, started_at"

    private static func invocationState(from row: any SQLRow) throws -> InvocationState {
        InvocationState(
            commandID: try row.decode(column: "command_id", as: String.self),
            instanceID: try row.decode(column: "instance_id", as: String.self),
            status: InvocationStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            statusDetails: try row.decode(column: "status_details", as: String.self),
            sentAt: try row.decode(column: "sent_at", as: Int?.self).map(Millis.date),
            startedAt: try row.decode(column: "started_at", as: Int?.self).map(Millis.date)
        )
    }

    public func transitionInvocations(_ updates: [InvocationUpdate], at: Date) async throws -> [Bool] {
        guard !updates.isEmpty else { return [] }
        return try await backend.transaction { db in
            var results = [Bool](repeating: false, count: updates.count)
            var events: [EventRow] = []
            // Updates that set the same columns from the same statuses share a statement;
            // an invocation named twice goes into a later round, so both apply in order.
            for round in Self.rounds(updates) {
                for chunk in round.chunked(100) {
                    let rows = try await db.raw(Self.multiTransition(chunk.map { updates[$0] }, at: at)).all()
                    var byKey = [String: InvocationState](minimumCapacity: rows.count)
                    for row in rows {
                        let updated = try Self.invocationState(from: row)
                        byKey[updated.commandID + "/" + updated.instanceID] = updated
                    }
                    for index in chunk {
                        let update = updates[index]
                        guard let updated = byKey[update.commandID + "/" + update.instanceID] else { continue }
                        results[index] = true
                        // A transition that cannot change the status (a resend) is not an event.
                        if update.transition.from != [update.transition.to] {
                            events.append(EventRow(commandID: update.commandID, instanceID: update.instanceID, status: updated.status.rawValue, details: updated.statusDetails))
                        }
                    }
                }
            }
            try await Self.recordEvents(db, events, at: at)
            return results
        }
    }

    /// Groups update indexes into statements: same shape (columns set, statuses
    /// allowed), and no invocation twice in one group. Groups keep the order in which
    /// their first update arrived.
    private static func rounds(_ updates: [InvocationUpdate]) -> [[Int]] {
        var groups: [[Int]] = []
        var keysOfGroup: [Set<String>] = []
        var openGroup: [InvocationTransition.Shape: Int] = [:]
        for (index, update) in updates.enumerated() where !update.transition.from.isEmpty {
            let shape = update.transition.shape
            let key = update.commandID + "/" + update.instanceID
            if let g = openGroup[shape], !keysOfGroup[g].contains(key) {
                groups[g].append(index)
                keysOfGroup[g].insert(key)
            } else {
                openGroup[shape] = groups.count
                groups.append([index])
                keysOfGroup.append([key])
            }
        }
        return groups
    }

    /// One UPDATE … FROM (VALUES …) for updates of one shape: thousands of reports in
    /// a few statements. Every value is cast, so PostgreSQL knows its type too.
    private static func multiTransition(_ updates: [InvocationUpdate], at: Date) -> SQLQueryString {
        let shape = updates[0].transition.shape
        // v.column1 = command id, column2 = instance id, then the shape's columns in order.
        var columns: [(name: String, type: String, value: (InvocationTransition) -> (any Encodable & Sendable)?)] = [
            ("status", "TEXT", { $0.to.rawValue }),
            ("status_details", "TEXT", { $0.details }),
        ]
        if shape.responseCode { columns.append(("response_code", "BIGINT", { $0.responseCode })) }
        if shape.stdout { columns.append(("stdout", "TEXT", { $0.stdout })) }
        if shape.stderr { columns.append(("stderr", "TEXT", { $0.stderr })) }
        if shape.outputBlob { columns.append(("output_blob", "TEXT", { $0.outputBlob })) }
        if shape.sentAt { columns.append(("sent_at", "BIGINT", { $0.sentAt.map(Millis.from) })) }
        if shape.startedAt { columns.append(("started_at", "BIGINT", { $0.startedAt.map(Millis.from) })) }
        if shape.endedAt { columns.append(("ended_at", "BIGINT", { $0.endedAt.map(Millis.from) })) }

        var query = SQLQueryString("UPDATE invocations SET updated_at = ")
        query.appendInterpolation(bind: Millis.from(at))
        for (i, column) in columns.enumerated() {
            let value = "v.column\(i + 3)"
            switch column.name {
            case "started_at": query.appendLiteral(", started_at = COALESCE(invocations.started_at, \(value))")
            default: query.appendLiteral(", \(column.name) = \(value)")
            }
        }
        if shape.countAttempt { query.appendLiteral(", attempts = invocations.attempts + 1") }
        query.appendLiteral(" FROM (VALUES ")
        for (row, update) in updates.enumerated() {
            query.appendLiteral(row == 0 ? "(" : ", (")
            query.appendLiteral("CAST(")
            query.appendInterpolation(bind: update.commandID)
            query.appendLiteral(" AS TEXT), CAST(")
            query.appendInterpolation(bind: update.instanceID)
            query.appendLiteral(" AS TEXT)")
            for column in columns {
                query.appendLiteral(", CAST(")
                if let value = column.value(update.transition) {
                    query.appendInterpolation(bind: value)
                } else {
                    query.appendLiteral("NULL")
                }
                query.appendLiteral(" AS \(column.type))")
            }
            query.appendLiteral(")")
        }
        query.appendLiteral(") AS v WHERE invocations.command_id = v.column1 AND invocations.instance_id = v.column2 AND invocations.status IN (")
        query.appendInterpolation(binds: updates[0].transition.from.map(\.rawValue).sorted())
        query.appendLiteral(") RETURNING \(stateColumns)")
        return query
    }

    public func transitionInvocations(commandID: String, instanceIDs: [String], _ t: InvocationTransition, at: Date) async throws -> [InvocationState] {
        guard !instanceIDs.isEmpty, !t.from.isEmpty else { return [] }
        return try await backend.transaction { db in
            var updated: [InvocationState] = []
            updated.reserveCapacity(instanceIDs.count)
            for chunk in instanceIDs.chunked(500) {
                var query = Self.transitionSetClause(t, at: at)
                query.appendLiteral(" WHERE command_id = ")
                query.appendInterpolation(bind: commandID)
                query.appendLiteral(" AND instance_id IN (")
                query.appendInterpolation(binds: Array(chunk))
                query.appendLiteral(") AND status IN (")
                query.appendInterpolation(binds: t.from.map(\.rawValue).sorted())
                query.appendLiteral(") RETURNING \(Self.stateColumns)")
                updated += try await db.raw(query).all().map(Self.invocationState(from:))
            }
            if t.from != [t.to] {
                try await Self.recordEvents(db, updated.map { EventRow(commandID: commandID, instanceID: $0.instanceID, status: $0.status.rawValue, details: $0.statusDetails) }, at: at)
            }
            return updated
        }
    }

    /// `UPDATE invocations SET …` for a transition, without the WHERE clause.
    private static func transitionSetClause(_ t: InvocationTransition, at: Date) -> SQLQueryString {
        var query = SQLQueryString("UPDATE invocations SET status = ")
        query.appendInterpolation(bind: t.to.rawValue)
        query.appendLiteral(", status_details = ")
        query.appendInterpolation(bind: t.details)
        query.appendLiteral(", updated_at = ")
        query.appendInterpolation(bind: Millis.from(at))
        if let code = t.responseCode {
            query.appendLiteral(", response_code = ")
            query.appendInterpolation(bind: code)
        }
        if let stdout = t.stdout {
            query.appendLiteral(", stdout = ")
            query.appendInterpolation(bind: stdout)
        }
        if let stderr = t.stderr {
            query.appendLiteral(", stderr = ")
            query.appendInterpolation(bind: stderr)
        }
        if let blob = t.outputBlob {
            query.appendLiteral(", output_blob = ")
            query.appendInterpolation(bind: blob)
        }
        if t.countAttempt { query.appendLiteral(", attempts = attempts + 1") }
        if let sent = t.sentAt {
            query.appendLiteral(", sent_at = ")
            query.appendInterpolation(bind: Millis.from(sent))
        }
        if let started = t.startedAt {
            query.appendLiteral(", started_at = COALESCE(started_at, ")
            query.appendInterpolation(bind: Millis.from(started))
            query.appendLiteral(")")
        }
        if let ended = t.endedAt {
            query.appendLiteral(", ended_at = ")
            query.appendInterpolation(bind: Millis.from(ended))
        }
        return query
    }

    public func updateRunningOutput(commandID: String, instanceID: String, stdout: String, stderr: String, at: Date) async throws {
        try await backend.withDatabase { db in
            try await db.raw("""
                UPDATE invocations SET stdout = \(bind: stdout), stderr = \(bind: stderr), updated_at = \(bind: Millis.from(at))
                WHERE command_id = \(bind: commandID) AND instance_id = \(bind: instanceID) AND status = \(bind: InvocationStatus.inProgress.rawValue)
                """).run()
        }
    }

    public func updateCommand(id: String, status: CommandStatus, statusDetails: String, completedCount: Int, errorCount: Int, deliveryTimedOutCount: Int, finishedAt: Date?, at: Date) async throws {
        try await backend.transaction { db in
            guard let row = try await db.raw("SELECT status, status_details FROM commands WHERE id = \(bind: id)").first() else { return }
            let changed = try row.decode(column: "status", as: String.self) != status.rawValue
                || row.decode(column: "status_details", as: String.self) != statusDetails
            try await db.raw("""
                UPDATE commands SET status = \(bind: status.rawValue), status_details = \(bind: statusDetails),
                    completed_count = \(bind: completedCount), error_count = \(bind: errorCount),
                    delivery_timed_out_count = \(bind: deliveryTimedOutCount),
                    finished_at = COALESCE(finished_at, \(bind: finishedAt.map(Millis.from)))
                WHERE id = \(bind: id)
                """).run()
            if changed {
                try await Self.recordEvent(db, at: at, commandID: id, instanceID: nil, status: status.rawValue, details: statusDetails)
            }
        }
    }

    public func requestCancel(commandID: String, at: Date) async throws -> Bool {
        let terminal = CommandStatus.allCases.filter(\.isTerminal).map(\.rawValue)
        return try await backend.withDatabase { db in
            !(try await db.raw("""
                UPDATE commands SET cancel_requested_at = COALESCE(cancel_requested_at, \(bind: Millis.from(at)))
                WHERE id = \(bind: commandID) AND status NOT IN (\(binds: terminal)) RETURNING id
                """).all()).isEmpty
        }
    }

    public func events(after seq: Int, limit: Int) async throws -> [EventRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM events WHERE seq > \(bind: seq) ORDER BY seq LIMIT \(bind: limit)").all().map { row in
                EventRecord(
                    seq: try row.decode(column: "seq", as: Int.self),
                    at: Millis.date(try row.decode(column: "at", as: Int.self)),
                    commandID: try row.decode(column: "command_id", as: String.self),
                    instanceID: try row.decode(column: "instance_id", as: String?.self),
                    status: try row.decode(column: "status", as: String.self),
                    statusDetails: try row.decode(column: "status_details", as: String.self)
                )
            }
        }
    }

    struct EventRow {
        var commandID: String
        var instanceID: String?
        var status: String
        var details: String
    }

    /// Many events in few statements (a fan-out changes thousands of invocations at once).
    private static func recordEvents(_ db: any SQLDatabase, _ events: [EventRow], at: Date) async throws {
        for chunk in events.chunked(200) {
            var query = SQLQueryString("INSERT INTO events (at, command_id, instance_id, status, status_details) VALUES ")
            for (i, event) in chunk.enumerated() {
                query.appendLiteral(i == 0 ? "(" : ", (")
                query.appendInterpolation(bind: Millis.from(at))
                query.appendLiteral(", ")
                query.appendInterpolation(bind: event.commandID)
                query.appendLiteral(", ")
                query.appendInterpolation(bind: event.instanceID)
                query.appendLiteral(", ")
                query.appendInterpolation(bind: event.status)
                query.appendLiteral(", ")
                query.appendInterpolation(bind: event.details)
                query.appendLiteral(")")
            }
            try await db.raw(query).run()
        }
    }

    private static func recordEvent(_ db: any SQLDatabase, at: Date, commandID: String, instanceID: String?, status: String, details: String) async throws {
        try await recordEvents(db, [EventRow(commandID: commandID, instanceID: instanceID, status: status, details: details)], at: at)
    }

    private static func command(from row: any SQLRow) throws -> CommandRecord {
        CommandRecord(
            id: try row.decode(column: "id", as: String.self),
            documentName: try row.decode(column: "document_name", as: String.self),
            documentVersion: try row.decode(column: "document_version", as: Int.self),
            parametersJSON: try row.decode(column: "parameters_json", as: String.self),
            targetsJSON: try row.decode(column: "targets_json", as: String.self),
            stepsJSON: try row.decode(column: "steps_json", as: String.self),
            maxConcurrency: try RateLimit(parsing: try row.decode(column: "max_concurrency", as: String.self), what: "stored max concurrency"),
            maxErrors: try RateLimit(parsing: try row.decode(column: "max_errors", as: String.self), what: "stored max errors"),
            deliveryTimeoutSeconds: try row.decode(column: "delivery_timeout_seconds", as: Int.self),
            comment: try row.decode(column: "comment", as: String?.self),
            createdAt: Millis.date(try row.decode(column: "created_at", as: Int.self)),
            createdBy: try row.decode(column: "created_by", as: String?.self),
            cancelRequestedAt: try row.decode(column: "cancel_requested_at", as: Int?.self).map(Millis.date),
            status: CommandStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            statusDetails: try row.decode(column: "status_details", as: String.self),
            targetCount: try row.decode(column: "target_count", as: Int.self),
            completedCount: try row.decode(column: "completed_count", as: Int.self),
            errorCount: try row.decode(column: "error_count", as: Int.self),
            deliveryTimedOutCount: try row.decode(column: "delivery_timed_out_count", as: Int.self),
            finishedAt: try row.decode(column: "finished_at", as: Int?.self).map(Millis.date)
        )
    }

    private static func invocation(from row: any SQLRow) throws -> InvocationRecord {
        InvocationRecord(
            commandID: try row.decode(column: "command_id", as: String.self),
            instanceID: try row.decode(column: "instance_id", as: String.self),
            position: try row.decode(column: "position", as: Int.self),
            status: InvocationStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            statusDetails: try row.decode(column: "status_details", as: String.self),
            responseCode: try row.decode(column: "response_code", as: Int?.self),
            stdout: try row.decode(column: "stdout", as: String.self),
            stderr: try row.decode(column: "stderr", as: String.self),
            outputBlob: try row.decode(column: "output_blob", as: String?.self),
            attempts: try row.decode(column: "attempts", as: Int.self),
            sentAt: try row.decode(column: "sent_at", as: Int?.self).map(Millis.date),
            startedAt: try row.decode(column: "started_at", as: Int?.self).map(Millis.date),
            endedAt: try row.decode(column: "ended_at", as: Int?.self).map(Millis.date),
            updatedAt: Millis.date(try row.decode(column: "updated_at", as: Int.self))
        )
    }

    // MARK: Tokens

    public func insertToken(_ t: TokenRecord) async throws {
        try await backend.withDatabase { db in
            try await db.raw("""
                INSERT INTO api_tokens (id, name, role, token_hash, created_at, revoked_at)
                VALUES (\(bind: t.id), \(bind: t.name), \(bind: t.role.rawValue), \(bind: t.tokenHash), \(bind: Millis.from(t.createdAt)), \(bind: t.revokedAt.map(Millis.from)))
                """).run()
        }
    }

    public func token(hash: String) async throws -> TokenRecord? {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM api_tokens WHERE token_hash = \(bind: hash)").first().map(Self.token(from:))
        }
    }

    public func tokens() async throws -> [TokenRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM api_tokens ORDER BY created_at, id").all().map(Self.token(from:))
        }
    }

    public func revokeToken(id: String, at: Date) async throws -> Bool {
        try await backend.withDatabase { db in
            !(try await db.raw("UPDATE api_tokens SET revoked_at = \(bind: Millis.from(at)) WHERE id = \(bind: id) AND revoked_at IS NULL RETURNING id").all()).isEmpty
        }
    }

    private static func token(from row: any SQLRow) throws -> TokenRecord {
        TokenRecord(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .readOnly,
            tokenHash: try row.decode(column: "token_hash", as: String.self),
            createdAt: Millis.date(try row.decode(column: "created_at", as: Int.self)),
            revokedAt: try row.decode(column: "revoked_at", as: Int?.self).map(Millis.date)
        )
    }

    // MARK: Helpers

    static func encodeTags(_ tags: [String: String]) throws -> String {
        String(decoding: try JSON.encoder().encode(tags), as: UTF8.self)
    }

    static func decodeTags(_ text: String) throws -> [String: String] {
        try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }
}

/// Times are stored as epoch milliseconds in BIGINT columns: one representation
/// that sorts, compares and round-trips identically on both databases.
enum Millis {
    static func from(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ millis: Int) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
    static func now() -> Int { from(Date()) }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
