import Foundation
import SQLKit

/// The invocation columns a transition sets, each with its SQL type, its new value
/// and how it is assigned. Written once for both statements that apply transitions
/// (the single-row `UPDATE … SET` and the batched `UPDATE … FROM (VALUES …)`), so a
/// rule such as "`started_at` keeps its first value" cannot hold in one and not the other.
/// `updated_at` is not listed: it is the statement's time, not the transition's.
struct TransitionColumns {
    struct Column {
        /// How the column takes its new value.
        enum Assignment {
            /// `column = value`.
            case value(any Encodable & Sendable)
            /// `column = COALESCE(column, value)`: a later report (a result that also
            /// carries the start time, a redelivered start) cannot move the first one.
            case firstValue(any Encodable & Sendable)
            /// `column = column + 1`, from the current value only.
            case increment
        }

        var name: String
        /// What the VALUES form casts the value to: PostgreSQL cannot tell a bind's type there.
        var type: String
        var assignment: Assignment

        var value: (any Encodable & Sendable)? {
            switch assignment {
            case .value(let value), .firstValue(let value): value
            case .increment: nil
            }
        }
    }

    /// Those the transition sets, in a fixed order. `InvocationTransition.shape` groups
    /// by these names, so the rows of one batched statement line up in its VALUES list.
    let columns: [Column]

    init(_ t: InvocationTransition) {
        var columns = [
            Column(name: "status", type: "TEXT", assignment: .value(t.to.rawValue)),
            Column(name: "status_details", type: "TEXT", assignment: .value(t.details)),
        ]
        if let code = t.responseCode { columns.append(Column(name: "response_code", type: "BIGINT", assignment: .value(code))) }
        if let stdout = t.stdout { columns.append(Column(name: "stdout", type: "TEXT", assignment: .value(stdout))) }
        if let stderr = t.stderr { columns.append(Column(name: "stderr", type: "TEXT", assignment: .value(stderr))) }
        if let blob = t.outputBlob { columns.append(Column(name: "output_blob", type: "TEXT", assignment: .value(blob))) }
        if let payloads = t.payloads, let json = StoredPayloads.encode(payloads) {
            columns.append(Column(name: "payloads_json", type: "TEXT", assignment: .value(json)))
        }
        if t.countAttempt { columns.append(Column(name: "attempts", type: "BIGINT", assignment: .increment)) }
        if let sent = t.sentAt { columns.append(Column(name: "sent_at", type: "BIGINT", assignment: .value(Millis.from(sent)))) }
        if let sender = t.sentBy { columns.append(Column(name: "sent_by", type: "TEXT", assignment: .value(sender))) }
        if let started = t.startedAt { columns.append(Column(name: "started_at", type: "BIGINT", assignment: .firstValue(Millis.from(started)))) }
        if let ended = t.endedAt { columns.append(Column(name: "ended_at", type: "BIGINT", assignment: .value(Millis.from(ended)))) }
        self.columns = columns
    }

    /// The new values with their types, in column order (increments take none).
    var values: [(value: any Encodable & Sendable, type: String)] {
        columns.compactMap { column in column.value.map { ($0, column.type) } }
    }

    /// Appends `, column = …` for every column. `value` appends the `index`-th of
    /// `values` (a bind, or a column of the VALUES row); `table` is how the statement
    /// names the row being updated where a rule reads its current value ("" or "invocations.").
    func appendAssignments(to query: inout SQLQueryString, table: String,
                           value: (_ index: Int, _ value: any Encodable & Sendable, _ query: inout SQLQueryString) -> Void) {
        var index = 0
        for column in columns {
            switch column.assignment {
            case .value(let new):
                query.appendLiteral(", \(column.name) = ")
                value(index, new, &query)
                index += 1
            case .firstValue(let new):
                query.appendLiteral(", \(column.name) = COALESCE(\(table)\(column.name), ")
                value(index, new, &query)
                query.appendLiteral(")")
                index += 1
            case .increment:
                query.appendLiteral(", \(column.name) = \(table)\(column.name) + 1")
            }
        }
    }
}
