import Foundation

/// When a window runs: an expression read on the wall clock of an IANA time zone,
/// between optional start and end dates, optionally some days after each cron date
/// (SSM's schedule offset: "two days after the second Tuesday").
///
/// Daylight-saving changes follow cron's custom: a local time that does not exist
/// (02:30 on the night clocks go forward) runs when the clocks jump, once; a local
/// time that happens twice (01:30 on the night they go back) runs the first time
/// only. `rate` counts absolute time and ignores the wall clock.
public struct Schedule: Sendable {
    public let expression: ScheduleExpression
    public let timeZone: TimeZone
    public let startDate: Date?
    public let endDate: Date?
    /// Days after each cron date (0: none).
    public let offsetDays: Int
    /// Where `rate` counts from: the start date, else when the window was created.
    public let anchor: Date

    /// How far ahead a cron search looks before it gives up (a year range that has
    /// passed, the 30th of February).
    static let searchYears = 30

    public init(_ expression: ScheduleExpression, timeZone identifier: String, startDate: Date? = nil, endDate: Date? = nil,
                offsetDays: Int = 0, createdAt: Date) throws(ScheduleProblem) {
        guard let timeZone = TimeZone(identifier: identifier) else {
            throw ScheduleProblem(.badTimeZone, "'\(identifier)' is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)")
        }
        if offsetDays != 0 {
            guard case .cron = expression else { throw ScheduleProblem(.badOffset, "a schedule offset applies to cron expressions only") }
            guard (1...6).contains(offsetDays) else { throw ScheduleProblem(.badOffset, "the schedule offset must be from 1 to 6 days, got \(offsetDays)") }
        }
        if let startDate, let endDate, endDate <= startDate {
            throw ScheduleProblem(.badDate, "the end date must be after the start date")
        }
        self.expression = expression
        self.timeZone = timeZone
        self.startDate = startDate
        self.endDate = endDate
        self.offsetDays = offsetDays
        self.anchor = startDate ?? createdAt
    }

    /// The first run strictly after `date`, or nil when there is none (an `at` in
    /// the past, after the end date, a cron that never matches again).
    public func next(after date: Date) -> Date? {
        let after = max(date, (startDate ?? .distantPast).addingTimeInterval(-0.001))
        let found: Date?
        switch expression {
        case .rate(let seconds, _):
            let interval = Double(seconds)
            if after < anchor {
                found = anchor
            } else {
                let steps = ((after.timeIntervalSince(anchor)) / interval).rounded(.down) + 1
                found = anchor.addingTimeInterval(steps * interval)
            }
        case .at(let local, _):
            let instant = self.instant(local)
            found = instant > after ? instant : nil
        case .cron(let cron, _):
            found = nextCron(cron, after: after)
        }
        guard let found else { return nil }
        if let endDate, found > endDate { return nil }
        return found
    }

    /// The most `nextRuns` lists.
    public static let maxListedRuns = 100

    /// The next `count` runs after `date` (at most `maxListedRuns`).
    public func nextRuns(after date: Date, count: Int) -> [Date] {
        let count = min(count, Self.maxListedRuns)
        var runs: [Date] = []
        var cursor = date
        while runs.count < count, let next = next(after: cursor) {
            runs.append(next)
            cursor = next
        }
        return runs
    }

    /// `date` on this schedule's wall clock.
    public func local(_ date: Date) -> LocalDateTime {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + timeZone.secondsFromGMT(for: date)
        return LocalDateTime(secondsAsUTC: seconds)
    }

    // MARK: cron

    private func nextCron(_ cron: CronExpression, after: Date) -> Date? {
        let times = Self.times(cron)
        // The cron date whose run (offset days later) could come first.
        let start = local(after)
        var day = start.date.adding(days: -offsetDays)
        // On that first day, times more than three hours before `after`'s wall clock
        // cannot come after it (no zone shifts by more): an every-second expression
        // does not resolve 86,400 instants to find the next one.
        let firstDay = day
        let skipBefore = start.hour * 3_600 + start.minute * 60 + start.second - 3 * 3_600
        // 30 years ahead, or as far as the year field names.
        let lastYear = max(day.year + Self.searchYears, cron.years?.max() ?? 0)
        while day.year <= lastYear {
            if let years = cron.years, !years.contains(day.year) {
                guard let nextYear = years.filter({ $0 > day.year }).min() else { return nil }
                day = LocalDateTime(year: nextYear, month: 1, day: 1)
                continue
            }
            if !cron.months.contains(day.month) {
                day = day.month == 12 ? LocalDateTime(year: day.year + 1, month: 1, day: 1) : LocalDateTime(year: day.year, month: day.month + 1, day: 1)
                continue
            }
            if cron.matches(year: day.year, month: day.month, day: day.day, weekday: day.weekday, daysInMonth: LocalDateTime.days(in: day.month, of: day.year)) {
                let runDay = day.adding(days: offsetDays)
                for (hour, minute, second) in times {
                    if day == firstDay, hour * 3_600 + minute * 60 + second < skipBefore { continue }
                    let instant = instant(LocalDateTime(year: runDay.year, month: runDay.month, day: runDay.day, hour: hour, minute: minute, second: second))
                    if instant > after { return instant }
                }
            }
            day = day.adding(days: 1)
        }
        return nil
    }

    /// Every (hour, minute, second) the expression names, in order.
    static func times(_ cron: CronExpression) -> [(Int, Int, Int)] {
        var times: [(Int, Int, Int)] = []
        for hour in cron.hours.sorted() {
            for minute in cron.minutes.sorted() {
                for second in cron.seconds.sorted() { times.append((hour, minute, second)) }
            }
        }
        return times
    }

    /// The instant a wall-clock time names here: the first of two in a repeated hour,
    /// the moment the clocks jump for one in a skipped hour.
    func instant(_ local: LocalDateTime) -> Date {
        let utc = local.secondsAsUTC
        let offsets = Set([timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utc - 86_400))),
                           timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utc + 86_400)))])
        let valid = offsets.map { utc - $0 }.filter { timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double($0))) == utc - $0 }
        if let first = valid.min() { return Date(timeIntervalSince1970: Double(first)) }
        // In the gap: the wall clock jumps over this time; run when it does.
        let early = Date(timeIntervalSince1970: Double(utc - (offsets.max() ?? 0)))
        let late = Date(timeIntervalSince1970: Double(utc - (offsets.min() ?? 0)))
        if let transition = timeZone.nextDaylightSavingTimeTransition(after: early), transition <= late { return transition }
        return late
    }
}

extension LocalDateTime {
    init(secondsAsUTC seconds: Int) {
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let rest = seconds - days * 86_400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        self.init(year: year, month: month, day: day, hour: rest / 3_600, minute: rest % 3_600 / 60, second: rest % 60)
    }

    /// Midnight of the same day.
    var date: LocalDateTime { LocalDateTime(year: year, month: month, day: day) }

    func adding(days: Int) -> LocalDateTime { LocalDateTime(secondsAsUTC: secondsAsUTC + days * 86_400) }
}
