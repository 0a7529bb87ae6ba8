/// Why a schedule expression cannot be used, and where: `field` names the cron
/// field (`day-of-week`) or the part (`rate unit`), `text` is what was written there.
public struct ScheduleProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable codes callers may match on.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let unknownForm = Code(rawValue: "UnknownForm")
        public static let fieldCount = Code(rawValue: "FieldCount")
        public static let badField = Code(rawValue: "BadField")
        public static let outOfRange = Code(rawValue: "OutOfRange")
        public static let dayFields = Code(rawValue: "DayFields")
        public static let badRate = Code(rawValue: "BadRate")
        public static let badDate = Code(rawValue: "BadDate")
        public static let badOffset = Code(rawValue: "BadOffset")
        public static let badTimeZone = Code(rawValue: "BadTimeZone")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
