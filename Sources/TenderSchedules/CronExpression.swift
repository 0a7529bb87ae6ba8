/// `cron(minutes hours day-of-month month day-of-week year)` as SSM writes it, with
/// an optional leading seconds field (seven fields). Each field takes `*`, lists
/// (`,`), ranges (`-`) and steps (`/`); months and weekdays take names (`JAN`,
/// `SUN`; weekdays count 1 = Sunday to 7 = Saturday). Exactly one of the two day
/// fields is `?`. Day of month also takes `L` (last day), `L-n` (n days before
/// it), `nW` (the weekday nearest day n, inside the month) and `LW` (the last
/// weekday); day of week takes `nL` (the last weekday n of the month) and `n#k`
/// (the k-th weekday n).
public struct CronExpression: Sendable, Equatable {
    public var seconds: Set<Int>
    public var minutes: Set<Int>
    public var hours: Set<Int>
    public var dayOfMonth: DayOfMonth
    public var months: Set<Int>
    public var dayOfWeek: DayOfWeek
    /// nil: every year.
    public var years: Set<Int>?

    public enum DayOfMonth: Sendable, Equatable {
        /// `?`: the day of week decides.
        case unspecified
        case days(Set<Int>)
        /// `L` (0) or `L-n`.
        case last(before: Int)
        /// `nW`.
        case nearestWeekday(Int)
        /// `LW`.
        case lastWeekday
    }

    public enum DayOfWeek: Sendable, Equatable {
        /// `?`: the day of month decides.
        case unspecified
        /// 1 = Sunday ... 7 = Saturday.
        case days(Set<Int>)
        /// `nL`.
        case last(Int)
        /// `n#k`.
        case nth(weekday: Int, week: Int)
    }

    static let yearRange = 1970...2199
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// Parses the text between `cron(` and `)`.
    public static func parse(_ body: String) throws(ScheduleProblem) -> CronExpression {
        var fields = body.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 6 || fields.count == 7 else {
            throw ScheduleProblem(.fieldCount, "cron takes 6 fields (minutes hours day-of-month month day-of-week year) or 7 with seconds first, got \(fields.count)")
        }
        var seconds: Set<Int> = [0]
        if fields.count == 7 {
            seconds = try numbers(fields.removeFirst(), "seconds", 0...59)
        }
        let minutes = try numbers(fields[0], "minutes", 0...59)
        let hours = try numbers(fields[1], "hours", 0...23)
        let months = try numbers(fields[3], "month", 1...12, names: monthNames)
        let years: Set<Int>? = fields[5] == "*" ? nil : try numbers(fields[5], "year", yearRange)
        let domText = fields[2], dowText = fields[4]
        guard (domText == "?") != (dowText == "?") else {
            throw ScheduleProblem(.dayFields, domText == "?"
                ? "day-of-month and day-of-week are both '?': exactly one of them must be '?'"
                : "one of day-of-month ('\(domText)') and day-of-week ('\(dowText)') must be '?'")
        }
        let dayOfMonth = domText == "?" ? DayOfMonth.unspecified : try parseDayOfMonth(domText)
        let dayOfWeek = dowText == "?" ? DayOfWeek.unspecified : try parseDayOfWeek(dowText)
        return CronExpression(seconds: seconds, minutes: minutes, hours: hours, dayOfMonth: dayOfMonth, months: months, dayOfWeek: dayOfWeek, years: years)
    }

    static func parseDayOfMonth(_ text: String) throws(ScheduleProblem) -> DayOfMonth {
        let field = "day-of-month"
        if text == "L" { return .last(before: 0) }
        if text == "LW" { return .lastWeekday }
        if text.hasPrefix("L-") {
            guard let before = Int(text.dropFirst(2)), (1...30).contains(before) else {
                throw ScheduleProblem(.badField, "\(field) '\(text)': L-n takes n from 1 to 30")
            }
            return .last(before: before)
        }
        if text.hasSuffix("W") {
            guard let day = Int(text.dropLast()), (1...31).contains(day) else {
                throw ScheduleProblem(.badField, "\(field) '\(text)': nW takes a day from 1 to 31")
            }
            return .nearestWeekday(day)
        }
        return .days(try numbers(text, field, 1...31))
    }

    static func parseDayOfWeek(_ text: String) throws(ScheduleProblem) -> DayOfWeek {
        let field = "day-of-week"
        if let hash = text.firstIndex(of: "#") {
            let weekday = try number(String(text[..<hash]), field, 1...7, names: weekdayNames, whole: text)
            guard let week = Int(text[text.index(after: hash)...]), (1...5).contains(week) else {
                throw ScheduleProblem(.badField, "\(field) '\(text)': n#k takes k from 1 to 5")
            }
            return .nth(weekday: weekday, week: week)
        }
        if text.count > 1, text.hasSuffix("L") {
            return .last(try number(String(text.dropLast()), field, 1...7, names: weekdayNames, whole: text))
        }
        if text == "L" { return .days([7]) }
        return .days(try numbers(text, field, 1...7, names: weekdayNames))
    }

    /// A list of `*`, `a`, `a-b`, each optionally `/step`.
    static func numbers(_ text: String, _ field: String, _ range: ClosedRange<Int>, names: [String] = []) throws(ScheduleProblem) -> Set<Int> {
        guard !text.isEmpty else { throw ScheduleProblem(.badField, "\(field) is empty") }
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !part.isEmpty else { throw ScheduleProblem(.badField, "\(field) '\(text)': an empty item in the list") }
            var base = part
            var step = 1
            if let slash = part.firstIndex(of: "/") {
                base = String(part[..<slash])
                guard let value = Int(part[part.index(after: slash)...]), value >= 1, value <= range.upperBound else {
                    throw ScheduleProblem(.badField, "\(field) '\(text)': the step after '/' must be a number from 1 to \(range.upperBound)")
                }
                step = value
            }
            var low = range.lowerBound, high = range.upperBound
            if base != "*" {
                if let dash = base.firstIndex(of: "-"), dash != base.startIndex {
                    low = try number(String(base[..<dash]), field, range, names: names, whole: text)
                    high = try number(String(base[base.index(after: dash)...]), field, range, names: names, whole: text)
                    guard low <= high else { throw ScheduleProblem(.badField, "\(field) '\(text)': the range \(base) ends before it starts") }
                } else {
                    low = try number(base, field, range, names: names, whole: text)
                    // "a/step" runs from a to the end of the range.
                    high = part.contains("/") ? range.upperBound : low
                }
            }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }

    static func number(_ text: String, _ field: String, _ range: ClosedRange<Int>, names: [String] = [], whole: String) throws(ScheduleProblem) -> Int {
        if let index = names.firstIndex(of: text.uppercased()) { return range.lowerBound + index }
        guard let value = Int(text) else {
            let expected = names.isEmpty ? "a number" : "a number or a name (\(names.first ?? "")-\(names.last ?? ""))"
            throw ScheduleProblem(.badField, "\(field) '\(whole)': '\(text)' is not \(expected)")
        }
        guard range.contains(value) else {
            throw ScheduleProblem(.outOfRange, "\(field) '\(whole)': \(value) is outside \(range.lowerBound)-\(range.upperBound)")
        }
        return value
    }

    // MARK: matching

    /// Whether the civil date `year-month-day` (weekday 1 = Sunday) matches the
    /// year, month and day fields.
    func matches(year: Int, month: Int, day: Int, weekday: Int, daysInMonth: Int) -> Bool {
        if let years, !years.contains(year) { return false }
        guard months.contains(month) else { return false }
        switch dayOfMonth {
        case .unspecified: break
        case .days(let days): if !days.contains(day) { return false }
        case .last(let before): if day != daysInMonth - before { return false }
        case .nearestWeekday(let target): if day != Self.nearestWeekday(to: target, weekdayOfFirst: Self.weekday(of: 1, day, weekday), daysInMonth: daysInMonth) { return false }
        case .lastWeekday: if day != Self.nearestWeekday(to: daysInMonth, weekdayOfFirst: Self.weekday(of: 1, day, weekday), daysInMonth: daysInMonth) { return false }
        }
        switch dayOfWeek {
        case .unspecified: return true
        case .days(let days): return days.contains(weekday)
        case .last(let target): return weekday == target && day + 7 > daysInMonth
        case .nth(let target, let week): return weekday == target && (day - 1) / 7 + 1 == week
        }
    }

    /// The weekday of `other` in the month where `day` is `weekday`.
    static func weekday(of other: Int, _ day: Int, _ weekday: Int) -> Int {
        ((weekday - 1 + other - day) % 7 + 7) % 7 + 1
    }

    /// The Monday-to-Friday day nearest `target` without leaving the month (Quartz's `W`).
    static func nearestWeekday(to target: Int, weekdayOfFirst: Int, daysInMonth: Int) -> Int {
        let day = min(target, daysInMonth)
        let weekday = weekday(of: day, 1, weekdayOfFirst)
        switch weekday {
        case 7: return day == 1 ? 3 : day - 1 // Saturday: Friday, or Monday the 3rd
        case 1: return day == daysInMonth ? day - 2 : day + 1 // Sunday: Monday, or Friday before
        default: return day
        }
    }
}
