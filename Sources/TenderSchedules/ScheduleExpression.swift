import Foundation

/// A maintenance window's schedule as SSM writes it: `cron(...)`, `rate(N unit)` or
/// a one-off `at(YYYY-MM-DDThh:mm:ss)`.
public enum ScheduleExpression: Sendable, Equatable, CustomStringConvertible {
    case cron(CronExpression, text: String)
    /// Every `seconds`, counted from the schedule's anchor (its start date, else when
    /// the window was created).
    case rate(seconds: Int, text: String)
    /// One local date and time in the schedule's time zone.
    case at(LocalDateTime, text: String)

    /// The longest expression accepted, in bytes (it is echoed in messages).
    public static let maxLength = 256

    public static func parse(_ raw: String) throws(ScheduleProblem) -> ScheduleExpression {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard text.utf8.count <= maxLength else { throw ScheduleProblem(.unknownForm, "a schedule is at most \(maxLength) bytes") }
        func body(_ prefix: String) -> String? {
            guard text.hasPrefix(prefix + "("), text.hasSuffix(")") else { return nil }
            return String(text.dropFirst(prefix.count + 1).dropLast())
        }
        if let cron = body("cron") { return .cron(try CronExpression.parse(cron), text: text) }
        if let rate = body("rate") { return .rate(seconds: try parseRate(rate), text: text) }
        if let at = body("at") {
            guard let local = LocalDateTime(iso: at) else {
                throw ScheduleProblem(.badDate, "at(\(at)): expected a date and time YYYY-MM-DDThh:mm:ss, e.g. at(2026-12-24T18:00:00)")
            }
            return .at(local, text: text)
        }
        throw ScheduleProblem(.unknownForm, "'\(text)' is not cron(...), rate(...) or at(...)")
    }

    /// `N minute|minutes|hour|hours|day|days`: singular exactly when N is 1.
    static func parseRate(_ body: String) throws(ScheduleProblem) -> Int {
        let parts = body.split(separator: " ").map(String.init)
        guard parts.count == 2, let count = Int(parts[0]) else {
            throw ScheduleProblem(.badRate, "rate(\(body)): expected a number and a unit, e.g. rate(30 minutes)")
        }
        let units: [String: Int] = ["minute": 60, "hour": 3_600, "day": 86_400]
        let unit = parts[1]
        let singular = unit.hasSuffix("s") ? String(unit.dropLast()) : unit
        guard let seconds = units[singular] else {
            throw ScheduleProblem(.badRate, "rate(\(body)): the unit must be minute(s), hour(s) or day(s), not '\(unit)'")
        }
        guard count >= 1, count <= 1_000 else { throw ScheduleProblem(.badRate, "rate(\(body)): the number must be from 1 to 1000") }
        guard (count == 1) == (unit == singular) else {
            throw ScheduleProblem(.badRate, "rate(\(body)): write '\(count == 1 ? singular : singular + "s")' with \(count)")
        }
        return count * seconds
    }

    public var description: String {
        switch self {
        case .cron(_, let text), .rate(_, let text), .at(_, let text): text
        }
    }
}

/// A date and time on a wall clock, in no particular time zone.
public struct LocalDateTime: Sendable, Equatable, Comparable {
    public var year, month, day, hour, minute, second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    /// `YYYY-MM-DDThh:mm:ss`, a real calendar date.
    public init?(iso text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":") else { return nil }
        func value(_ range: Range<Int>) -> Int? {
            let slice = bytes[range]
            guard slice.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            return Int(String(decoding: slice, as: UTF8.self))
        }
        guard let year = value(0..<4), let month = value(5..<7), let day = value(8..<10), let hour = value(11..<13),
              let minute = value(14..<16), let second = value(17..<19) else { return nil }
        guard CronExpression.yearRange.contains(year), (1...12).contains(month), day >= 1, day <= LocalDateTime.days(in: month, of: year),
              hour < 24, minute < 60, second < 60 else { return nil }
        self.init(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    public static func < (a: LocalDateTime, b: LocalDateTime) -> Bool {
        (a.year, a.month, a.day, a.hour, a.minute, a.second) < (b.year, b.month, b.day, b.hour, b.minute, b.second)
    }

    static func days(in month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Seconds since 1970 if this wall-clock time were UTC.
    var secondsAsUTC: Int {
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + hour * 3_600 + minute * 60 + second
    }

    /// 1 = Sunday ... 7 = Saturday.
    var weekday: Int {
        let days = Int((Double(secondsAsUTC) / 86_400).rounded(.down))
        return ((days + 4) % 7 + 7) % 7 + 1 // 1970-01-01 was a Thursday (5)
    }

    var description: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))"
    }
}
