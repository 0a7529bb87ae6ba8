import Foundation
import SQLKit

/// The events table: written by the command and invocation writes, in their transaction.
extension SQLStore {
    public func events(after seq: Int, limit: Int) async throws -> [EventRecord] {
        try await backend.withDatabase { db in
            // Only Run Command's: another owner's deliveries are not commands. One
            // primary-key probe per event read.
            try await db.raw("""
                SELECT * FROM events WHERE seq > \(bind: seq) AND EXISTS (
                    SELECT 1 FROM commands WHERE commands.id = events.command_id AND commands.owner_kind = \(bind: DeliveryOwner.runCommand.kind))
                ORDER BY seq LIMIT \(bind: limit)
                """).all().map { row in
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
    static func recordEvents(_ db: any SQLDatabase, _ events: [EventRow], at: Date) async throws {
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

    static func recordEvent(_ db: any SQLDatabase, at: Date, commandID: String, instanceID: String?, status: String, details: String) async throws {
        try await recordEvents(db, [EventRow(commandID: commandID, instanceID: instanceID, status: status, details: details)], at: at)
    }
}
