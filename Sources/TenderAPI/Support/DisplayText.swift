/// The one rule for text that came from an agent or a registrant (names, host
/// details, status details, script output): what the controller stores and what
/// the CLI prints must not be able to drive the operator's terminal (escape
/// sequences) or disguise itself (bidi overrides), and must not bloat the database.
///
/// A *control* here is a scalar of general category Cc (C0 U+0000–U+001F, DEL
/// U+007F, C1 U+0080–U+009F), Cf (format controls: the bidi embeddings, overrides
/// and isolates U+202A–U+202E and U+2066–U+2069, the marks U+200E, U+200F, U+061C,
/// zero-width space, BOM, soft hyphen…) except the joiners U+200C and U+200D that
/// emoji and some scripts need, and the separators U+2028 and U+2029.
public enum DisplayText {
    /// Whether a terminal could act on `scalar`, or it could reorder or hide text.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator:
            return true
        case .format:
            return scalar != "\u{200C}" && scalar != "\u{200D}"
        default:
            return false
        }
    }

    /// For text the controller stores: every control removed, then at most `limit`
    /// Unicode scalars kept, cut between characters (never inside one).
    public static func clean(_ text: String, limit: Int) -> String {
        var kept = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !isControl(scalar) {
            kept.append(scalar)
        }
        let cleaned = String(kept)
        guard cleaned.unicodeScalars.count > limit else { return cleaned }
        var result = ""
        var count = 0
        for character in cleaned {
            let size = character.unicodeScalars.count
            guard count + size <= limit else { break }
            result.append(character)
            count += size
        }
        return result
    }

    /// For text the CLI prints in table form: every control made visible, so the
    /// output shows what was sent and the terminal never acts on it. ESC reads `\e`;
    /// line feed, carriage return and tab read `\n`, `\r`, `\t`; every other control
    /// reads `\u{HEX}` (e.g. `\u{7F}`, `\u{9B}`, `\u{202E}`). A backslash is left as
    /// it is: the form is for reading, not for parsing back. `multiLine` keeps line
    /// feeds and tabs as they are, for output whose layout is multi-line (a script's
    /// stdout, a document's text).
    public static func escaped(_ text: String, multiLine: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n" where multiLine, "\t" where multiLine: result.unicodeScalars.append(scalar)
            case "\u{1B}": result += "\\e"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default: result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return result
    }

    /// For JSON text the CLI prints: the encoder already writes C0 controls as
    /// `\u00XX`, but leaves DEL, C1 and format controls as they are (valid JSON);
    /// those are written as `\uXXXX` too. The JSON means exactly the same; only its
    /// bytes can no longer drive a terminal. Line feeds, tabs and carriage returns
    /// are left alone: outside strings they are the layout, inside they never occur.
    public static func escapedJSON(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: { isControl($0) && !isJSONWhitespace($0) }) else { return json }
        var result = ""
        result.reserveCapacity(json.utf8.count + 16)
        for scalar in json.unicodeScalars {
            guard isControl(scalar), !isJSONWhitespace(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            for unit in String(scalar).utf16 {
                let hex = String(unit, radix: 16, uppercase: false)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return result
    }

    private static func isJSONWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\n" || scalar == "\t" || scalar == "\r"
    }
}
