import Foundation
import Testing
@testable import TenderSchedules

/// Schedule expressions and their next runs. The plain cron rows were checked
/// against a brute-force reading of the wall clock minute by minute (Python's
/// zoneinfo); the daylight-saving rows follow cron's custom, written out by hand.
@Suite("Schedules")
struct ScheduleTests {
    struct Row: CustomStringConvertible {
        var expression: String
        var timeZone: String
        var after: String
        var expected: [String]
        var offsetDays = 0
        var startDate: String?
        var endDate: String?
        var createdAt = "2026-12-07T00:00:10Z"

        init(_ expression: String, _ timeZone: String, _ after: String, _ expected: [String], offsetDays: Int = 0, startDate: String? = nil,
             endDate: String? = nil, createdAt: String = "2026-12-07T00:00:10Z") {
            (self.expression, self.timeZone, self.after, self.expected) = (expression, timeZone, after, expected)
            (self.offsetDays, self.startDate, self.endDate, self.createdAt) = (offsetDays, startDate, endDate, createdAt)
        }

        var description: String { "\(expression) in \(timeZone) after \(after)" }
    }

    static func date(_ text: String) -> Date {
        (try? Date(text, strategy: .iso8601)) ?? .distantPast
    }

    static let rows: [Row] = [
        Row("cron(0 2 ? * SUN *)", "Europe/Berlin", "2026-12-07T00:00:00Z", ["2026-12-13T01:00:00Z", "2026-12-20T01:00:00Z", "2026-12-27T01:00:00Z"]),
        Row("cron(0 10 * * ? *)", "UTC", "2026-12-07T10:00:00Z", ["2026-12-08T10:00:00Z", "2026-12-09T10:00:00Z", "2026-12-10T10:00:00Z"]),
        Row("cron(15 10 ? * MON-FRI *)", "America/New_York", "2026-12-11T16:00:00Z", ["2026-12-14T15:15:00Z", "2026-12-15T15:15:00Z", "2026-12-16T15:15:00Z"]),
        Row("cron(0/15 * * * ? *)", "UTC", "2026-12-07T23:50:00Z", ["2026-12-08T00:00:00Z", "2026-12-08T00:15:00Z", "2026-12-08T00:30:00Z"]),
        Row("cron(5-10/5 8 1 * ? *)", "UTC", "2026-12-01T08:05:00Z", ["2026-12-01T08:10:00Z", "2027-01-01T08:05:00Z", "2027-01-01T08:10:00Z"]),
        Row("cron(0 0 L * ? *)", "UTC", "2027-01-15T00:00:00Z", ["2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z"]),
        Row("cron(0 0 L-2 * ? *)", "UTC", "2027-02-01T00:00:00Z", ["2027-02-26T00:00:00Z", "2027-03-29T00:00:00Z", "2027-04-28T00:00:00Z"]),
        Row("cron(0 12 15W * ? *)", "UTC", "2026-11-01T00:00:00Z", ["2026-11-16T12:00:00Z", "2026-12-15T12:00:00Z", "2027-01-15T12:00:00Z", "2027-02-15T12:00:00Z"]),
        Row("cron(0 12 1W * ? *)", "UTC", "2026-08-01T00:00:00Z", ["2026-08-03T12:00:00Z", "2026-09-01T12:00:00Z", "2026-10-01T12:00:00Z"]),
        Row("cron(0 12 LW * ? *)", "UTC", "2026-05-01T00:00:00Z", ["2026-05-29T12:00:00Z", "2026-06-30T12:00:00Z", "2026-07-31T12:00:00Z"]),
        Row("cron(0 9 ? * 3#2 *)", "Europe/Berlin", "2026-12-01T00:00:00Z", ["2026-12-08T08:00:00Z", "2027-01-12T08:00:00Z", "2027-02-09T08:00:00Z"]),
        Row("cron(30 23 ? * TUE#3 *)", "UTC", "2026-12-01T00:00:00Z", ["2026-12-15T23:30:00Z", "2027-01-19T23:30:00Z"]),
        Row("cron(0 18 ? * 6L *)", "UTC", "2026-12-01T00:00:00Z", ["2026-12-25T18:00:00Z", "2027-01-29T18:00:00Z", "2027-02-26T18:00:00Z"]),
        Row("cron(0 0 1 JAN ? 2028-2030)", "UTC", "2026-12-07T00:00:00Z", ["2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z", "2030-01-01T00:00:00Z"]),
        Row("cron(0 0 29 FEB ? *)", "UTC", "2026-01-01T00:00:00Z", ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]),
        Row("cron(0 6 ? JUN,DEC SAT *)", "Asia/Tokyo", "2026-12-25T00:00:00Z", ["2026-12-25T21:00:00Z", "2027-06-04T21:00:00Z", "2027-06-11T21:00:00Z"]),
        Row("cron(0 0 ? * SUN,SAT *)", "Australia/Sydney", "2026-12-07T00:00:00Z", ["2026-12-11T13:00:00Z", "2026-12-12T13:00:00Z", "2026-12-18T13:00:00Z"]),
        Row("cron(45 3 * * ? *)", "Asia/Kolkata", "2026-12-07T00:00:00Z", ["2026-12-07T22:15:00Z", "2026-12-08T22:15:00Z"]),
        Row("cron(0 8 1-7 * ? *)", "UTC", "2026-12-05T09:00:00Z", ["2026-12-06T08:00:00Z", "2026-12-07T08:00:00Z", "2027-01-01T08:00:00Z"]),
        Row("cron(0 0 1 */3 ? *)", "UTC", "2026-12-07T00:00:00Z", ["2027-01-01T00:00:00Z", "2027-04-01T00:00:00Z", "2027-07-01T00:00:00Z"]),
        Row("cron(0 3 ? * * *)", "Europe/Berlin", "2027-03-26T00:00:00Z", ["2027-03-26T02:00:00Z", "2027-03-27T02:00:00Z", "2027-03-28T01:00:00Z", "2027-03-29T01:00:00Z"]),
        Row("cron(0 3 ? * * *)", "Europe/Berlin", "2027-10-29T00:00:00Z", ["2027-10-29T01:00:00Z", "2027-10-30T01:00:00Z", "2027-10-31T02:00:00Z", "2027-11-01T02:00:00Z"]),
        Row("cron(0 1 ? * * *)", "America/New_York", "2027-03-12T00:00:00Z", ["2027-03-12T06:00:00Z", "2027-03-13T06:00:00Z", "2027-03-14T06:00:00Z"]),
        Row("cron(0 3 ? * * *)", "America/New_York", "2027-11-05T00:00:00Z", ["2027-11-05T07:00:00Z", "2027-11-06T07:00:00Z", "2027-11-07T08:00:00Z"]),
        Row("cron(0 0 ? * MON#1 *)", "UTC", "2026-12-07T00:00:00Z", ["2027-01-04T00:00:00Z", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"]),
        Row("cron(0 12 31 * ? *)", "UTC", "2026-12-07T00:00:00Z", ["2026-12-31T12:00:00Z", "2027-01-31T12:00:00Z", "2027-03-31T12:00:00Z"]),
        Row("cron(0 0 1 1 ? 2026)", "UTC", "2026-12-07T00:00:00Z", []),
        Row("cron(0 22 ? * FRI *)", "Pacific/Auckland", "2026-12-07T00:00:00Z", ["2026-12-11T09:00:00Z", "2026-12-18T09:00:00Z"]),
        // Daylight saving, Europe/Berlin (2027-03-28 02:00 -> 03:00, 2027-10-31 03:00 -> 02:00):
        // a skipped 02:30 runs when the clocks jump (01:00Z), a repeated 02:30 the first time only.
        Row("cron(30 2 * * ? *)", "Europe/Berlin", "2027-03-27T00:00:00Z", ["2027-03-27T01:30:00Z", "2027-03-28T01:00:00Z", "2027-03-29T00:30:00Z"]),
        Row("cron(30 2 * * ? *)", "Europe/Berlin", "2027-10-29T12:00:00Z", ["2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"]),
        Row("cron(30 * * * ? *)", "Europe/Berlin", "2027-03-28T00:00:00Z", ["2027-03-28T00:30:00Z", "2027-03-28T01:00:00Z", "2027-03-28T01:30:00Z"]),
        Row("cron(30 * * * ? *)", "Europe/Berlin", "2027-10-30T23:00:00Z", ["2027-10-30T23:30:00Z", "2027-10-31T00:30:00Z", "2027-10-31T02:30:00Z"]),
        Row("cron(0/15 * * * ? *)", "Europe/Berlin", "2027-03-28T00:50:00Z", ["2027-03-28T01:00:00Z", "2027-03-28T01:15:00Z", "2027-03-28T01:30:00Z"]),
        // America/New_York (2027-03-14 02:00 -> 03:00, 2027-11-07 02:00 -> 01:00).
        Row("cron(30 2 * * ? *)", "America/New_York", "2027-03-13T00:00:00Z", ["2027-03-13T07:30:00Z", "2027-03-14T07:00:00Z", "2027-03-15T06:30:00Z"]),
        Row("cron(30 1 * * ? *)", "America/New_York", "2027-11-06T00:00:00Z", ["2027-11-06T05:30:00Z", "2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"]),
        // Seven fields: seconds first.
        Row("cron(30 0 12 * * ? *)", "UTC", "2026-12-07T12:00:00Z", ["2026-12-07T12:00:30Z", "2026-12-08T12:00:30Z"]),
        Row("cron(* * * * * ? *)", "UTC", "2026-12-07T23:59:59Z", ["2026-12-08T00:00:00Z", "2026-12-08T00:00:01Z"]),
        Row("cron(* * * * * ? *)", "Europe/Berlin", "2026-12-07T22:59:58Z", ["2026-12-07T22:59:59Z", "2026-12-07T23:00:00Z"]),
        // 03:00 CEST becomes 02:00 CET: the repeated hour 02:00-02:59 is skipped, 03:00 CET is next.
        Row("cron(0 * * * * ? *)", "Europe/Berlin", "2027-10-31T00:59:30Z", ["2027-10-31T02:00:00Z", "2027-10-31T02:01:00Z"]),
        // A year beyond the 30-year search.
        Row("cron(0 0 1 1 ? 2070)", "UTC", "2026-12-07T00:00:00Z", ["2070-01-01T00:00:00Z"]),
        // A schedule offset: two days after the second Tuesday.
        Row("cron(30 23 ? * TUE#2 *)", "UTC", "2026-12-01T00:00:00Z", ["2026-12-10T23:30:00Z", "2027-01-14T23:30:00Z"], offsetDays: 2),
        // Start and end dates.
        Row("cron(0 10 * * ? *)", "UTC", "2026-12-07T00:00:00Z", ["2026-12-20T10:00:00Z", "2026-12-21T10:00:00Z"], startDate: "2026-12-20T00:00:00Z"),
        Row("cron(0 10 * * ? *)", "UTC", "2026-12-07T00:00:00Z", ["2026-12-07T10:00:00Z", "2026-12-08T10:00:00Z"], endDate: "2026-12-09T00:00:00Z"),
        // rate: absolute time from the start date, else from creation.
        Row("rate(1 minute)", "UTC", "2026-12-07T00:05:00Z", ["2026-12-07T00:05:10Z", "2026-12-07T00:06:10Z", "2026-12-07T00:07:10Z"]),
        Row("rate(2 hours)", "Europe/Berlin", "2026-12-07T00:00:00Z", ["2026-12-10T00:00:00Z", "2026-12-10T02:00:00Z"], startDate: "2026-12-10T00:00:00Z"),
        Row("rate(1 day)", "UTC", "2026-12-07T12:00:00Z", ["2026-12-08T12:00:00Z"], endDate: "2026-12-09T00:00:00Z", createdAt: "2026-12-07T12:00:00Z"),
        Row("rate(90 minutes)", "America/New_York", "2027-03-14T06:00:00Z", ["2027-03-14T06:00:10Z", "2027-03-14T07:30:10Z"], createdAt: "2027-03-14T00:00:10Z"),
        // at: one local time.
        Row("at(2026-12-24T18:00:00)", "America/New_York", "2026-12-07T00:00:00Z", ["2026-12-24T23:00:00Z"]),
        Row("at(2027-03-28T02:30:00)", "Europe/Berlin", "2026-12-07T00:00:00Z", ["2027-03-28T01:00:00Z"]),
        Row("at(2026-01-01T00:00:00)", "UTC", "2026-12-07T00:00:00Z", []),
    ]

    @Test(arguments: rows)
    func nextRuns(_ row: Row) throws {
        let expression = try ScheduleExpression.parse(row.expression)
        let schedule = try Schedule(expression, timeZone: row.timeZone, startDate: row.startDate.map(Self.date), endDate: row.endDate.map(Self.date),
                                    offsetDays: row.offsetDays, createdAt: Self.date(row.createdAt))
        // One more than listed: rows that list every run (an `at`, an end date) must have no more.
        let runs = schedule.nextRuns(after: Self.date(row.after), count: row.expected.count + 1)
        let wanted = row.expected.map(Self.date)
        #expect(Array(runs.prefix(row.expected.count)) == wanted, "\(row): \(runs)")
        if row.expression.hasPrefix("at(") || row.endDate != nil || row.expected.isEmpty {
            #expect(runs.count == row.expected.count, "no more runs: \(row): \(runs)")
        }
    }

    @Test func atLeastFortyRows() {
        #expect(Self.rows.count >= 40)
    }

    static let invalid: [(String, ScheduleProblem.Code, String)] = [
        ("cron(0 2 * * *)", .fieldCount, "cron takes 6 fields"),
        ("cron(0 2 * * * * * *)", .fieldCount, "got 8"),
        ("cron(0 2 ? * ? *)", .dayFields, "both '?'"),
        ("cron(0 2 1 * MON *)", .dayFields, "one of day-of-month ('1') and day-of-week ('MON') must be '?'"),
        ("cron(60 2 * * ? *)", .outOfRange, "minutes '60': 60 is outside 0-59"),
        ("cron(0 24 * * ? *)", .outOfRange, "hours '24': 24 is outside 0-23"),
        ("cron(0 2 32 * ? *)", .outOfRange, "day-of-month '32'"),
        ("cron(0 2 ? FOO MON *)", .badField, "month 'FOO': 'FOO' is not a number or a name (JAN-DEC)"),
        ("cron(0 2 ? * MON#6 *)", .badField, "n#k takes k from 1 to 5"),
        ("cron(0 2 ? * 8 *)", .outOfRange, "day-of-week '8': 8 is outside 1-7"),
        ("cron(0 2 ? * FRI-MON *)", .badField, "ends before it starts"),
        ("cron(0/0 2 * * ? *)", .badField, "the step after '/'"),
        ("cron(0 2 * * ? 1969)", .outOfRange, "year '1969'"),
        ("cron(0 2 1,,2 * ? *)", .badField, "an empty item"),
        ("cron(0 2 L-31 * ? *)", .badField, "L-n takes n from 1 to 30"),
        ("cron(0 2 32W * ? *)", .badField, "nW takes a day from 1 to 31"),
        ("rate(1 minutes)", .badRate, "write 'minute' with 1"),
        ("rate(5 minute)", .badRate, "write 'minutes' with 5"),
        ("rate(0 hours)", .badRate, "from 1 to 1000"),
        ("rate(5 weeks)", .badRate, "minute(s), hour(s) or day(s), not 'weeks'"),
        ("rate(five minutes)", .badRate, "a number and a unit"),
        ("at(2026-02-30T10:00:00)", .badDate, "YYYY-MM-DDThh:mm:ss"),
        ("at(2026-12-24 18:00:00)", .badDate, "YYYY-MM-DDThh:mm:ss"),
        ("every day at noon", .unknownForm, "is not cron(...), rate(...) or at(...)"),
        ("cron(0 2 * * ? *", .unknownForm, "is not cron(...)"),
        ("cron(" + String(repeating: "\u{301}", count: 200) + ")", .unknownForm, "at most 256 bytes"),
    ]

    @Test func invalidExpressionsSayWhatAndWhere() {
        for (text, code, message) in Self.invalid {
            do {
                let parsed = try ScheduleExpression.parse(text)
                Issue.record("\(text) parsed as \(parsed)")
            } catch {
                #expect(error.code == code, "\(text): \(error)")
                #expect(error.message.contains(message), "\(text): \(error.message)")
            }
        }
    }

    @Test func scheduleSettingsAreChecked() throws {
        let cron = try ScheduleExpression.parse("cron(0 2 ? * SUN *)")
        let created = Self.date("2026-12-07T00:00:00Z")
        #expect(throws: ScheduleProblem.self) { try Schedule(cron, timeZone: "Mars/Olympus", createdAt: created) }
        #expect(throws: ScheduleProblem.self) { try Schedule(cron, timeZone: "UTC", offsetDays: 7, createdAt: created) }
        #expect(throws: ScheduleProblem.self) { try Schedule(try ScheduleExpression.parse("rate(1 day)"), timeZone: "UTC", offsetDays: 1, createdAt: created) }
        #expect(throws: ScheduleProblem.self) {
            try Schedule(cron, timeZone: "UTC", startDate: Self.date("2027-01-01T00:00:00Z"), endDate: Self.date("2026-01-01T00:00:00Z"), createdAt: created)
        }
    }

    @Test func localDateArithmetic() {
        let leap = LocalDateTime(year: 2028, month: 2, day: 28).adding(days: 1)
        #expect(leap == LocalDateTime(year: 2028, month: 2, day: 29))
        #expect(LocalDateTime(year: 2026, month: 12, day: 7).weekday == 2, "a Monday")
        #expect(LocalDateTime(year: 1970, month: 1, day: 1).weekday == 5, "a Thursday")
        #expect(LocalDateTime(secondsAsUTC: LocalDateTime(year: 2199, month: 12, day: 31, hour: 23, minute: 59, second: 59).secondsAsUTC)
            == LocalDateTime(year: 2199, month: 12, day: 31, hour: 23, minute: 59, second: 59))
    }
}
