/// Keeps credentials out of messages and logs.
public enum Redact {
    /// `scheme://user:secret@host/...` → `scheme://***@host/...`; other text unchanged.
    public static func url(_ text: String) -> String {
        guard let schemeEnd = text.firstRange(of: "://"), let at = text[schemeEnd.upperBound...].firstIndex(of: "@") else { return text }
        let slash = text[schemeEnd.upperBound...].firstIndex(of: "/") ?? text.endIndex
        guard at < slash else { return text }
        return String(text[..<schemeEnd.upperBound]) + "***" + String(text[at...])
    }
}
