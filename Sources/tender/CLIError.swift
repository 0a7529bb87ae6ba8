/// An error the CLI reports as one line on stderr with the CLI's exit code (0 ok, 1 failed, 2 usage or validation, 3 unreachable or not authorized).
struct CLIError: Error {
    /// 1: the operation ran and failed; 2: usage or validation; 3: cannot reach or authenticate.
    var exitCode: Int32
    var message: String

    static func usage(_ message: String) -> CLIError { CLIError(exitCode: 2, message: message) }
    static func unreachable(_ message: String) -> CLIError { CLIError(exitCode: 3, message: message) }
    static func failed(_ message: String) -> CLIError { CLIError(exitCode: 1, message: message) }
}
