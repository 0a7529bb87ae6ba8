/// How much output an invocation keeps inline (as SSM): the first 24,000
/// characters of stdout and 8,000 of stderr, marked when cut. The full output is
/// stored separately and fetched with `tender command output`.
public enum OutputLimits {
    public static let inlineStdout = 24_000
    public static let inlineStderr = 8_000
    public static let truncationMarker = "\n--- output truncated; run `tender command output` for all of it ---\n"

    /// The first `limit` characters of `text`, plus the marker if anything was cut.
    public static func inline(_ text: String, limit: Int) -> (text: String, truncated: Bool) {
        guard text.count > limit else { return (text, false) }
        return (String(text.prefix(limit)) + truncationMarker, true)
    }
}
