import Foundation
import SQLKit
import TenderWire

/// Invocations and their transitions (the `CommandStore` methods that touch `invocations`).
extension SQLStore {
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

    private static let stateColumns = "command_id, instance_id, status, status_details, sent_at, sent_by, started_at, variant"

    private static func invocationState(from row: any SQLRow) throws -> InvocationState {
        InvocationState(
            commandID: try row.decode(column: "command_id", as: String.self),
            instanceID: try row.decode(column: "instance_id", as: String.self),
            status: InvocationStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            statusDetails: try row.decode(column: "status_details", as: String.self),
            sentAt: try row.decode(column: "sent_at", as: Int?.self).map(Millis.date),
            sentBy: try row.decode(column: "sent_by", as: String?.self),
            startedAt: try row.decode(column: "started_at", as: Int?.self).map(Millis.date),
            variant: try row.decode(column: "variant", as: String?.self)
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
        var query = SQLQueryString("UPDATE invocations SET updated_at = ")
        query.appendInterpolation(bind: Millis.from(at))
        // v.column1 = command id, column2 = instance id, then the shape's values in order.
        TransitionColumns(updates[0].transition).appendAssignments(to: &query, table: "invocations.") { index, _, query in
            query.appendLiteral("v.column\(index + 3)")
        }
        query.appendLiteral(" FROM (VALUES ")
        for (row, update) in updates.enumerated() {
            query.appendLiteral(row == 0 ? "(" : ", (")
            query.appendLiteral("CAST(")
            query.appendInterpolation(bind: update.commandID)
            query.appendLiteral(" AS TEXT), CAST(")
            query.appendInterpolation(bind: update.instanceID)
            query.appendLiteral(" AS TEXT)")
            for (value, type) in TransitionColumns(update.transition).values {
                query.appendLiteral(", CAST(")
                query.appendInterpolation(bind: value)
                query.appendLiteral(" AS \(type))")
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
                updated += try await db.raw(Self.transition(t, commandID: commandID, instanceIDs: Array(chunk), at: at)).all().map(Self.invocationState(from:))
            }
            if t.from != [t.to] {
                try await Self.recordEvents(db, updated.map { EventRow(commandID: commandID, instanceID: $0.instanceID, status: $0.status.rawValue, details: $0.statusDetails) }, at: at)
            }
            return updated
        }
    }

    public func claimInvocations(commandID: String, instanceIDs: [String], inFlightLimit: Int, _ t: InvocationTransition, at: Date) async throws -> [InvocationState] {
        guard !instanceIDs.isEmpty, !t.from.isEmpty, inFlightLimit > 0 else { return [] }
        let locksRows = backend.name == "postgres"
        return try await backend.transaction { db in
            // Replicas claiming for one command take turns: the command's row is the lock
            // (PostgreSQL). SQLite runs one transaction at a time anyway.
            if locksRows {
                _ = try await db.raw("SELECT id FROM commands WHERE id = \(bind: commandID) FOR UPDATE").all()
            }
            let row = try await db.raw("""
                SELECT count(*) AS n FROM invocations WHERE command_id = \(bind: commandID) AND status = \(bind: InvocationStatus.inProgress.rawValue)
                """).first()
            let inFlight = try row?.decode(column: "n", as: Int.self) ?? 0
            let room = max(0, inFlightLimit - inFlight)
            guard room > 0 else { return [] }
            var claimed: [InvocationState] = []
            // In the order given, skipping those another replica claimed meanwhile.
            for chunk in instanceIDs.chunked(500) where claimed.count < room {
                let wanted = Array(chunk.prefix(room - claimed.count))
                claimed += try await db.raw(Self.transition(t, commandID: commandID, instanceIDs: wanted, at: at)).all().map(Self.invocationState(from:))
            }
            if t.from != [t.to] {
                try await Self.recordEvents(db, claimed.map { EventRow(commandID: commandID, instanceID: $0.instanceID, status: $0.status.rawValue, details: $0.statusDetails) }, at: at)
            }
            return claimed
        }
    }

    /// The transition for some invocations of one command, where still in its `from`
    /// statuses, returning their new states.
    private static func transition(_ t: InvocationTransition, commandID: String, instanceIDs: [String], at: Date) -> SQLQueryString {
        var query = transitionSetClause(t, at: at)
        query.appendLiteral(" WHERE command_id = ")
        query.appendInterpolation(bind: commandID)
        query.appendLiteral(" AND instance_id IN (")
        query.appendInterpolation(binds: instanceIDs)
        query.appendLiteral(") AND status IN (")
        query.appendInterpolation(binds: t.from.map(\.rawValue).sorted())
        query.appendLiteral(") RETURNING \(stateColumns)")
        return query
    }

    /// `UPDATE invocations SET …` for a transition, without the WHERE clause.
    private static func transitionSetClause(_ t: InvocationTransition, at: Date) -> SQLQueryString {
        var query = SQLQueryString("UPDATE invocations SET updated_at = ")
        query.appendInterpolation(bind: Millis.from(at))
        TransitionColumns(t).appendAssignments(to: &query, table: "") { _, value, query in
            query.appendInterpolation(bind: value)
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
            payloads: StoredPayloads.decode(try row.decode(column: "payloads_json", as: String?.self)),
            attempts: try row.decode(column: "attempts", as: Int.self),
            sentAt: try row.decode(column: "sent_at", as: Int?.self).map(Millis.date),
            sentBy: try row.decode(column: "sent_by", as: String?.self),
            startedAt: try row.decode(column: "started_at", as: Int?.self).map(Millis.date),
            endedAt: try row.decode(column: "ended_at", as: Int?.self).map(Millis.date),
            updatedAt: Millis.date(try row.decode(column: "updated_at", as: Int.self)),
            variant: try row.decode(column: "variant", as: String?.self)
        )
    }
}
