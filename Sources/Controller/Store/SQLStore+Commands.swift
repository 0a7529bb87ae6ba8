import Foundation
import SQLKit
import TenderAPI
import TenderWire

/// Commands and their aggregate. Invocations and transitions are in SQLStore+Invocations.swift,
/// events in SQLStore+Events.swift; the three together make the `CommandStore`.
extension SQLStore: CommandStore {
    public func insertCommand(_ c: CommandRecord, invocations: [InvocationRecord]) async throws {
        try await backend.transaction { db in
            try await db.raw("""
                INSERT INTO commands (id, document_name, document_version, parameters_json, targets_json, steps_json, max_concurrency,
                    max_errors, delivery_timeout_seconds, comment, created_at, created_by, cancel_requested_at, status, status_details,
                    target_count, completed_count, error_count, delivery_timed_out_count, finished_at, owner_kind, owner_id, variants_json)
                VALUES (\(bind: c.id), \(bind: c.documentName), \(bind: c.documentVersion), \(bind: c.parametersJSON), \(bind: c.targetsJSON),
                    \(bind: c.stepsJSON), \(bind: c.maxConcurrency.description), \(bind: c.maxErrors.description), \(bind: c.deliveryTimeoutSeconds),
                    \(bind: c.comment), \(bind: Millis.from(c.createdAt)), \(bind: c.createdBy), \(bind: c.cancelRequestedAt.map(Millis.from)),
                    \(bind: c.status.rawValue), \(bind: c.statusDetails), \(bind: c.targetCount), \(bind: c.completedCount), \(bind: c.errorCount),
                    \(bind: c.deliveryTimedOutCount), \(bind: c.finishedAt.map(Millis.from)), \(bind: c.owner.kind), \(bind: c.owner.id), \(bind: c.variantsJSON))
                """).run()
            // Multi-row inserts keep a fan-out to thousands of targets to a few statements.
            for chunk in invocations.chunked(200) {
                var query = SQLQueryString("INSERT INTO invocations (command_id, instance_id, position, status, status_details, attempts, updated_at, variant) VALUES ")
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
                    query.appendLiteral(", ")
                    query.appendInterpolation(bind: inv.variant)
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
            try await db.raw("""
                SELECT * FROM commands WHERE owner_kind = \(bind: DeliveryOwner.runCommand.kind)
                ORDER BY created_at DESC, id LIMIT \(bind: limit)
                """).all().map(Self.command(from:))
        }
    }

    public func activeCommands() async throws -> [CommandRecord] {
        let terminal = CommandStatus.allCases.filter(\.isTerminal).map(\.rawValue)
        return try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM commands WHERE status NOT IN (\(binds: terminal)) ORDER BY created_at, id").all().map(Self.command(from:))
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
            finishedAt: try row.decode(column: "finished_at", as: Int?.self).map(Millis.date),
            owner: DeliveryOwner(kind: try row.decode(column: "owner_kind", as: String.self), id: try row.decode(column: "owner_id", as: String?.self)),
            variantsJSON: try row.decode(column: "variants_json", as: String?.self)
        )
    }
}
