/// Why a patch run could not do its work. The message is what the operator reads
/// in the invocation's output (a package tool's own error included), the code is
/// stable for tests and scripts.
struct PatchRunError: Error, Sendable, Equatable, CustomStringConvertible {
    struct Code: Hashable, Sendable, CustomStringConvertible {
        let rawValue: String
        static let toolMissing = Code(rawValue: "ToolMissing")
        static let toolFailed = Code(rawValue: "ToolFailed")
        static let timedOut = Code(rawValue: "TimedOut")
        static let cancelled = Code(rawValue: "Cancelled")
        static let tooMuchOutput = Code(rawValue: "TooMuchOutput")
        static let unreadableOutput = Code(rawValue: "UnreadableOutput")
        static let badInputs = Code(rawValue: "BadInputs")
        static let unsupportedSystem = Code(rawValue: "UnsupportedSystem")
        var description: String { rawValue }
    }

    var code: Code
    var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { message }
}
