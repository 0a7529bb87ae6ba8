import Foundation
import Testing
@testable import TenderDocuments
@testable import TenderWire

@Suite("Linear-time patterns")
struct LinearPatternTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var pattern: String
        var text: String
        var matches: Bool
        var testDescription: String { "\(pattern.debugDescription) on \(text.debugDescription) → \(matches)" }
        init(_ pattern: String, _ text: String, _ matches: Bool) {
            self.pattern = pattern
            self.text = text
            self.matches = matches
        }
    }

    static let cases: [Case] = [
        // Empty pattern and empty text.
        Case("", "", true),
        Case("", "a", false),
        Case("a*", "", true),
        Case("a", "", false),
        // Literals, and the whole text must match.
        Case("abc", "abc", true),
        Case("abc", "abcd", false),
        Case("abc", "xabc", false),
        Case("[a-z]+", "abc1", false),
        // Escaped metacharacters stand for themselves.
        Case(#"a\.b"#, "a.b", true),
        Case(#"a\.b"#, "axb", false),
        Case(#"\*\+\?\(\)\[\]\{\}\|\^\$\\\/\-"#, #"*+?()[]{}|^$\/-"#, true),
        Case("a}b]", "a}b]", true),
        // `.`: any scalar but a line terminator.
        Case("a.c", "abc", true),
        Case("a.c", "a\nc", false),
        Case("a.c", "a\rc", false),
        Case("a.c", "a\u{2028}c", false),
        Case("a.c", "a\tc", true),
        Case("...", "aé🙂", true),
        // Classes, ranges, negation, `-` and `]` as members, escapes inside.
        Case("[abc]+", "cab", true),
        Case("[abc]", "d", false),
        Case("[a-cx-z]+", "bzy", true),
        Case("[a-cx-z]", "m", false),
        Case("[^a-c]", "d", true),
        Case("[^a-c]", "b", false),
        Case("[^a]", "\n", true),
        Case("[-a]+", "-a-", true),
        Case("[a-]+", "a-", true),
        Case("[a-c-e]+", "b-e", true),
        Case("[a-c-e]", "d", false),
        Case("[]a]+", "]a]", true),
        Case("[^]a]", "]", false),
        Case("[^]a]", "b", true),
        Case(#"[\]\-\\]+"#, #"]-\"#, true),
        Case(#"[\d.]+"#, "1.5", true),
        Case(#"[\s,]+"#, " ,\t", true),
        Case(#"[^\d]"#, "5", false),
        Case(#"[^\d]"#, "x", true),
        Case(#"[\D]"#, "x", true),
        Case("[.]", "x", false),
        Case("[$^]+", "^$", true),
        // Shorthand classes are ASCII, as in Java.
        Case(#"\d+"#, "0123456789", true),
        Case(#"\d"#, "٣", false),
        Case(#"\D"#, "x", true),
        Case(#"\D"#, "7", false),
        Case(#"\w+"#, "az_AZ09", true),
        Case(#"\w"#, "é", false),
        Case(#"\w"#, "-", false),
        Case(#"\W"#, "-", true),
        Case(#"\s+"#, " \t\n\u{0B}\u{0C}\r", true),
        Case(#"\s"#, "x", false),
        Case(#"\S+"#, "xy", true),
        // Character escapes.
        Case(#"a\tb"#, "a\tb", true),
        Case(#"\n\r\f\v\a\e"#, "\n\r\u{0C}\u{0B}\u{07}\u{1B}", true),
        Case(#"\x41\u0042\x{43}\u{1F642}"#, "ABC🙂", true),
        Case(#"[\x41-\x43]+"#, "ABC", true),
        // Anchors, also inside a whole match.
        Case("^abc$", "abc", true),
        Case(#"\Aabc\z"#, "abc", true),
        Case(#"abc\Z"#, "abc", true),
        Case(#"abc\Z\n"#, "abc\n", true),
        Case("a^b", "ab", false),
        Case("a$b", "ab", false),
        Case("(^a|b)c", "ac", true),
        Case("(^a|b)c", "bc", true),
        Case("x(^a|b)c", "xac", false),
        Case("x(^a|b)c", "xbc", true),
        Case("a$|b", "a", true),
        Case(#"\bfoo\b"#, "foo", true),
        Case(#"a\bb"#, "ab", false),
        Case(#"a\b-"#, "a-", true),
        Case(#"a\Bb"#, "ab", true),
        Case(#"\b"#, "", false),
        Case(#"\B"#, "", true),
        // Groups: plain, non-capturing, named.
        Case("(ab)+", "ababab", true),
        Case("(ab)+", "aba", false),
        Case("(?:ab)+", "abab", true),
        Case("(?<word>ab)+c", "ababc", true),
        Case("(?P<word>ab)c", "abc", true),
        Case("()", "", true),
        Case("(a|)b", "b", true),
        Case("((a)(b(c)))", "abc", true),
        // Alternation.
        Case("cat|dog", "dog", true),
        Case("cat|dog", "cow", false),
        Case("a|b|c|", "", true),
        Case("|a", "a", true),
        Case("(red|green|blue)-(on|off)", "green-off", true),
        // Quantifiers.
        Case("ab*c", "ac", true),
        Case("ab*c", "abbbc", true),
        Case("ab+c", "ac", false),
        Case("ab+c", "abbc", true),
        Case("ab?c", "ac", true),
        Case("ab?c", "abbc", false),
        Case("a{3}", "aaa", true),
        Case("a{3}", "aa", false),
        Case("a{3}", "aaaa", false),
        Case("a{2,}", "a", false),
        Case("a{2,}", "aaaaaa", true),
        Case("a{2,4}", "aaaa", true),
        Case("a{2,4}", "aaaaa", false),
        Case("a{0,2}", "", true),
        Case("a{0}", "", true),
        Case("a{0}", "a", false),
        Case("(ab){1,2}", "abab", true),
        Case("(ab){1,2}", "ababab", false),
        Case("a{1000}", String(repeating: "a", count: 1000), true),
        Case("a{1000}", String(repeating: "a", count: 999), false),
        // Lazy quantifiers accept the same whole texts as greedy ones.
        Case("a*?b", "aaab", true),
        Case("a+?", "aaa", true),
        Case("a??b", "b", true),
        Case("a{2,3}?", "aaa", true),
        Case("a{2,3}?", "aaaa", false),
        Case("(a|ab)(c|bcd)", "abcd", true),
        // Empty loops terminate.
        Case("(a*)*", "aaa", true),
        Case("(a*)*b", "aaac", false),
        Case("(a?)+", "", true),
        Case("(|a)*", "aa", true),
        Case("((a*)*|b)*", "abab", true),
        // Unicode: literals, ranges and `.` work on scalars.
        Case("héllo", "héllo", true),
        Case("[α-ω]+", "λόγος", false),  // ό is outside α-ω
        Case("[α-ω]+", "λογος", true),
        Case("🙂+", "🙂🙂", true),
        Case("^.$", "🇫🇷", false),  // a flag is two scalars
        Case("^..$", "🇫🇷", true),
        Case("e\u{301}", "e\u{301}", true),
        Case("é", "e\u{301}", false),  // no canonical equivalence: scalars as written
        Case("[^a]", "🙂", true),
        // The built-in executionTimeout rule.
        Case(BuiltinTimeout.pattern, "1", true),
        Case(BuiltinTimeout.pattern, "3600", true),
        Case(BuiltinTimeout.pattern, "172800", true),
        Case(BuiltinTimeout.pattern, "99999", true),
        Case(BuiltinTimeout.pattern, "100000", true),
        Case(BuiltinTimeout.pattern, "169999", true),
        Case(BuiltinTimeout.pattern, "0", false),
        Case(BuiltinTimeout.pattern, "172801", false),
        Case(BuiltinTimeout.pattern, "180000", false),
        Case(BuiltinTimeout.pattern, "01", false),
        Case(BuiltinTimeout.pattern, "abc", false),
        Case(BuiltinTimeout.pattern, "", false),
    ]

    @Test(arguments: cases)
    func matchesTheWholeText(_ c: Case) throws {
        let pattern = try LinearPattern(c.pattern)
        #expect(pattern.matchesWhole(c.text) == c.matches)
    }

    enum BuiltinTimeout {
        /// Read from the built-in document, so the test follows the text that ships.
        static let pattern: String = BuiltinDocuments.runShellScript.parameter(named: "executionTimeout")?.allowedPattern ?? "missing"
    }

    @Test func builtinExecutionTimeoutPattern() throws {
        let pattern = try LinearPattern(BuiltinTimeout.pattern)
        for accepted in ["1", "5", "3600", "172800"] { #expect(pattern.matchesWhole(accepted), "\(accepted)") }
        for refused in ["0", "172801", "abc", "-1", " 1", "1 "] { #expect(!pattern.matchesWhole(refused), "\(refused)") }
    }

    // MARK: Refusals

    @Test(arguments: [
        // Needs backtracking.
        (#"(a)\1"#, #"backreference '\1' at character 4"#),
        (#"(?<n>a)\k<n>"#, #"backreference '\k' at character 8"#),
        ("(?=a)a", "lookahead '(?=' at character 1"),
        ("(?!a)b", "lookahead '(?!' at character 1"),
        ("a(?<=a)", "lookbehind '(?<=' at character 2"),
        ("a(?<!b)", "lookbehind '(?<!' at character 2"),
        ("(?>a+)a", "atomic group '(?>' at character 1"),
        ("a*+a", "possessive quantifier '*+' at character 2"),
        ("a{2}+", "possessive quantifier '{2}+' at character 2"),
        // Not implemented.
        ("(?i)abc", "inline flags '(?i)' at character 1"),
        ("(?i:abc)", "inline flags '(?i:' at character 1"),
        ("(?#note)a", "comment group '(?#' at character 1"),
        (#"\p{L}"#, #"Unicode property class '\p' at character 1"#),
        (#"\q"#, #"unknown escape '\q' at character 1"#),
        (#"\0"#, "octal escape"),
        (#"a\"#, "ends with a lone '\\'"),
        ("[[:alpha:]]", "'[' at character 2 inside a class"),
        ("[a-z&&[^e]]", "'&&' at character 5"),
        (#"[\b]"#, #"'\b' at character 2 is not allowed inside a class"#),
        // Malformed.
        ("(ab", "missing ')' for the group opened at character 1"),
        ("ab)", "unmatched ')' at character 3"),
        ("[ab", "the class '[' opened at character 1 is not closed"),
        ("[z-a]", "the range 'z-a' at character 2 is out of order"),
        (#"[\d-z]"#, "must run between single characters"),
        ("*a", "'*' at character 1 has nothing to repeat"),
        ("a|+", "'+' at character 3 has nothing to repeat"),
        ("^*a", "follows an anchor"),
        ("a**", "'*' at character 3 follows another quantifier"),
        ("a{2}{3}", "'{' at character 5 follows another quantifier"),
        ("a{", "'{' at character 2 does not start a repetition"),
        ("a{,3}", "'{' at character 2 does not start a repetition"),
        ("a{x}", "'{' at character 2 does not start a repetition"),
        ("a{3,2}", "repetition '{3,2}' at character 2 has its maximum below its minimum"),
        (#"\xZZ"#, "is not a valid hex escape"),
        (#"\u{110000}"#, "is not a Unicode scalar value"),
        (#"\uD800"#, "is not a Unicode scalar value"),
        ("(?<1x>a)", "the group name at character 1"),
        ("(?x", "inline flags"),
        ("(?%a)", "is not a group this engine knows"),
    ])
    func refusesWithConstructAndPosition(_ pattern: String, _ message: String) {
        #expect {
            _ = try LinearPattern(pattern)
        } throws: { error in
            guard let error = error as? TenderError else { return false }
            return error.code == .validation && error.message.contains(message)
        }
    }

    @Test func limitsAreRefusedWithTheirValues() throws {
        let long = String(repeating: "a", count: LinearPattern.maxPatternLength + 1)
        #expect(throws: TenderError.validation("the pattern is 1001 characters long; the limit is 1000")) {
            _ = try LinearPattern(long)
        }
        _ = try LinearPattern(String(repeating: "a", count: LinearPattern.maxPatternLength))

        #expect(throws: TenderError.validation("repetition '{1001}' at character 2 exceeds the limit of 1000")) {
            _ = try LinearPattern("a{1001}")
        }
        #expect(throws: TenderError.validation("repetition '{0,1001}' at character 2 exceeds the limit of 1000")) {
            _ = try LinearPattern("a{0,1001}")
        }
        #expect(throws: TenderError.validation("repetition '{99999999999999999999}' at character 2 exceeds the limit of 1000")) {
            _ = try LinearPattern("a{99999999999999999999}")
        }

        // Nested counts multiply: refused before anything is expanded.
        #expect {
            _ = try LinearPattern("((a{1000}){1000}){1000}")
        } throws: { error in
            (error as? TenderError)?.message.contains("more than 20000 steps") == true
        }
        // 9 × 2000 + 1000 + 999 instructions, and one to match: exactly the limit.
        let largest = String(repeating: "(a?){1000}", count: 9) + "a{1000}a{999}"
        #expect(try LinearPattern(largest).programSize == LinearPattern.maxProgramSize)
        #expect(throws: TenderError.self) { _ = try LinearPattern(largest + "a") }

        let deep = String(repeating: "(", count: 51) + "a" + String(repeating: ")", count: 51)
        #expect(throws: TenderError.validation("groups are nested deeper than 50 levels at character 51")) {
            _ = try LinearPattern(deep)
        }
        _ = try LinearPattern(String(repeating: "(", count: 50) + "a" + String(repeating: ")", count: 50))
    }

    // MARK: Cost

    @Test func catastrophicBacktrackingPatternIsDecidedAtOnce() throws {
        let pattern = try LinearPattern("(a+)+")
        let text = String(repeating: "a", count: 30) + "b"
        var result = true
        let elapsed = threadCPUTime { result = pattern.matchesWhole(text) }
        #expect(!result)
        #expect(elapsed < .milliseconds(100), "took \(elapsed)")
    }

    @Test func oneMebibyteAgainstANestedPatternIsFast() throws {
        let pattern = try LinearPattern("((a|b)+c?)*(x|y)")
        let text = String(repeating: "ab", count: 512 * 1024)
        #expect(text.utf8.count == 1 << 20)
        var result = true
        let elapsed = threadCPUTime { result = pattern.matchesWhole(text) }
        #expect(!result)
        #expect(elapsed < .seconds(1), "took \(elapsed)")
        #expect(pattern.matchesWhole(text + "x"))
    }

    @Test func worstCaseStepsBoundsTheWork() throws {
        let pattern = try LinearPattern("[ab]*a[ab]{999}")
        #expect(pattern.programSize > 1000)
        #expect(pattern.worstCaseSteps("") == pattern.programSize)
        #expect(pattern.worstCaseSteps("aé🙂") == 4 * pattern.programSize)
        // The request budget admits a few thousand characters for the largest programs.
        let largest = try LinearPattern(String(repeating: "(a?){1000}", count: 9))
        #expect(largest.programSize > 18_000)
        #expect(LinearPattern.maxStepsPerRequest / largest.programSize > 500)
    }

    @Test func equalByText() throws {
        #expect(try LinearPattern("a+") == LinearPattern("a+"))
        #expect(try LinearPattern("a+") != LinearPattern("a*"))
    }
}
