import Foundation
import SQLKit
import TenderAPI
import TenderWire

/// Instances and their tags (`instance_tags`); registration also counts against the activation.
extension SQLStore: InstanceStore {
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
                        platform_id = \(bind: report.platformID), platform_id_like = \(bind: report.platformIDLike),
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
            ipAddress: try row.decode(column: "ip_address", as: String?.self),
            platformID: try row.decode(column: "platform_id", as: String?.self),
            platformIDLike: try row.decode(column: "platform_id_like", as: String?.self)
        )
    }
}
