import TenderWire
/// A parameter's `allowedPattern`, compiled once and matched in time linear in
/// the value's length whatever the pattern.
///
/// Swift's `Regex` backtracks: `(a+)+` against 30 `a`s and a `b` takes minutes,
/// and an operator-written pattern against a 1 MiB value would hold a controller
/// thread for as long as it liked. A backtracking match cannot be interrupted
/// safely, and a time cap would still burn a core per request, so this engine
/// never backtracks: it is a Thompson NFA simulated Pike-VM style, one set of
/// live states per position of the text, each state visited at most once per
/// position. Matching costs at most `programSize` steps per Unicode scalar of
/// the text, and `programSize` is capped at compile time.
///
/// The syntax is the common core of the Java and ECMAScript flavours SSM
/// patterns are written in: literals, `\` before any non-alphanumeric character,
/// `.`, classes (`[a-z]`, `[^...]`, `]` first is literal, `-` first or last is
/// literal), `\d \D \w \W \s \S` (ASCII, as in Java), `\t \n \r \f \v \a \e`,
/// `\xhh \x{h..} \uhhhh \u{h..}`, anchors `^ $ \A \z \Z \b \B`, groups `(...)`,
/// `(?:...)`, `(?<name>...)` (captures are not kept: only yes/no is asked),
/// `|`, and `* + ? {n} {n,} {n,m}` with an optional lazy `?` suffix. A lazy
/// quantifier prefers a shorter match, which changes where a search stops but not
/// whether the text as a whole matches, so it is accepted and treated as greedy.
///
/// Refused when compiled, with the construct and its position named: whatever
/// needs backtracking (backreferences, lookaround, atomic groups, possessive
/// quantifiers — `a*+a` matches nothing in Java, so possessive is not the same
/// yes/no as greedy), inline flags, Unicode property classes, nested or
/// intersected classes, unknown escapes, and patterns past the size limits below.
///
/// Semantics are over Unicode scalars, not Swift `Character`s: `.` is one scalar,
/// and `é` written as `e` plus a combining accent is two. `.` matches any scalar
/// but the line terminators `\n \r U+0085 U+2028 U+2029`; `^` and `$` are the
/// start and end of the whole value (there is no multiline mode).
public struct LinearPattern: Sendable, Equatable {
    /// Longest pattern accepted, in Unicode scalars. SSM patterns are a line or two.
    public static let maxPatternLength = 1_000
    /// Largest count in `{n}`, `{n,}`, `{n,m}`: each count is a copy of the repeated part.
    public static let maxRepetition = 1_000
    /// Largest compiled program, in instructions; this bounds the work per scalar matched.
    public static let maxProgramSize = 20_000
    /// Deepest nesting of groups accepted (the parser recurses once per level).
    public static let maxGroupDepth = 50
    /// Most matching work one request may ask for, summed over every value it checks
    /// against every pattern, in `worstCaseSteps`: about 65 ms of one core in a
    /// release build for the costliest program (measured: 127 ms for twice this).
    /// Linear time alone is not enough: a 20,000-step program against a 1 MiB value
    /// would still be 2·10¹⁰ steps, half a minute.
    public static let maxStepsPerRequest = 1 << 24

    /// The pattern as written.
    public let source: String
    /// The program as `PikeVM` runs it (see `PikeVM.lower`).
    private let code: [Int32]
    private let sets: CompiledSets

    /// Instructions in the compiled program; matching costs at most this many steps per scalar.
    public var programSize: Int { code.count / PikeVM.width }

    /// The most steps `matchesWhole(text)` can take, known before matching: at most
    /// `programSize` for each scalar and for the end.
    public func worstCaseSteps(_ text: String) -> Int {
        programSize * (text.unicodeScalars.count + 1)
    }

    /// The same text compiles to the same program.
    public static func == (lhs: LinearPattern, rhs: LinearPattern) -> Bool { lhs.source == rhs.source }

    /// Compiles `pattern`, or throws a validation `TenderError` naming the first
    /// construct that is invalid or not supported and where it is.
    public init(_ pattern: String) throws(TenderError) {
        let scalars = Array(pattern.unicodeScalars)
        guard scalars.count <= Self.maxPatternLength else {
            throw TenderError.validation(
                "the pattern is \(scalars.count) characters long; the limit is \(Self.maxPatternLength)")
        }
        var parser = PatternParser(scalars)
        let tree = try parser.parsePattern()
        var compiler = PatternCompiler()
        compiler.emit(tree.node)
        compiler.program.append(.match)
        source = pattern
        code = PikeVM.lower(compiler.program)
        sets = compiler.sets
    }

    /// Whether the whole of `text` matches (as SSM checks values: `[a-z]+` does not
    /// accept `abc1`). Never throws and never backtracks.
    public func matchesWhole(_ text: String) -> Bool {
        PikeVM.run(code, sets, text)
    }
}

// MARK: - Program

enum Assertion: Int32, Sendable {
    /// `^`, `\A`
    case start
    /// `$`, `\z`
    case end
    /// `\Z`: the end, or just before a final `\n`.
    case endOrFinalNewline
    /// `\b`
    case wordBoundary
    /// `\B`
    case notWordBoundary
}

enum Instruction: Sendable {
    /// Consumes this one scalar.
    case scalar(UInt32)
    /// Consumes one scalar in `sets[index]`.
    case set(Int32)
    /// Continues at both targets.
    case split(Int32, Int32)
    case jump(Int32)
    /// Continues only where the assertion holds; consumes nothing.
    case assert(Assertion)
    case match
}

/// A set of Unicode scalars as sorted, disjoint, non-adjacent ranges.
struct ScalarSet: Sendable, Equatable {
    private(set) var ranges: [ClosedRange<UInt32>]

    static let maxScalar: UInt32 = 0x10FFFF

    init(_ input: [ClosedRange<UInt32>]) {
        var merged: [ClosedRange<UInt32>] = []
        for range in input.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        ranges = merged
    }

    var inverted: ScalarSet {
        var gaps: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges {
            if range.lowerBound > next { gaps.append(next...(range.lowerBound - 1)) }
            if range.upperBound == Self.maxScalar { return ScalarSet(gaps) }
            next = range.upperBound + 1
        }
        gaps.append(next...Self.maxScalar)
        return ScalarSet(gaps)
    }

    func contains(_ scalar: UInt32) -> Bool {
        ranges.contains { $0.contains(scalar) }
    }

    static let digit = ScalarSet([0x30...0x39])
    static let word = ScalarSet([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    /// Java's `\s`: space, `\t \n \v \f \r`.
    static let space = ScalarSet([0x09...0x0D, 0x20...0x20])
    /// `.`: everything but the line terminators.
    static let dot = ScalarSet([0x0A...0x0A, 0x0D...0x0D, 0x85...0x85, 0x2028...0x2029]).inverted
}

/// The classes of a program laid out for matching: an ASCII bitmap per class, and
/// the ranges above ASCII of all classes in one array, found by binary search.
struct CompiledSets: Sendable {
    /// Bits 0-63 and 64-127 of class `i` at `2 * i` and `2 * i + 1`.
    private(set) var ascii: [UInt64] = []
    /// Class `i`'s ranges above U+007F are `bounds[start[i] ..< start[i + 1]]`, as (lower, upper) pairs.
    private(set) var start: [Int32] = [0]
    private(set) var lower: [UInt32] = []
    private(set) var upper: [UInt32] = []

    mutating func append(_ set: ScalarSet) {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for range in set.ranges {
            if range.lowerBound < 128 {
                for scalar in range.lowerBound...min(range.upperBound, 127) {
                    if scalar < 64 { low |= 1 << UInt64(scalar) } else { high |= 1 << UInt64(scalar - 64) }
                }
            }
            if range.upperBound >= 128 {
                lower.append(max(range.lowerBound, 128))
                upper.append(range.upperBound)
            }
        }
        ascii += [low, high]
        start.append(Int32(lower.count))
    }

    struct View {
        let ascii: UnsafeBufferPointer<UInt64>
        let start: UnsafeBufferPointer<Int32>
        let lower: UnsafeBufferPointer<UInt32>
        let upper: UnsafeBufferPointer<UInt32>

        func contains(_ scalar: UInt32, inSet index: Int) -> Bool {
            if scalar < 128 {
                let word = ascii[2 * index + (scalar < 64 ? 0 : 1)]
                return word & (1 << UInt64(scalar & 63)) != 0
            }
            var low = Int(start[index])
            var high = Int(start[index + 1])
            while low < high {
                let middle = (low + high) / 2
                if scalar < lower[middle] {
                    high = middle
                } else if scalar > upper[middle] {
                    low = middle + 1
                } else {
                    return true
                }
            }
            return false
        }
    }

    func withView<T>(_ body: (View) -> T) -> T {
        ascii.withUnsafeBufferPointer { ascii in
            start.withUnsafeBufferPointer { start in
                lower.withUnsafeBufferPointer { lower in
                    upper.withUnsafeBufferPointer { upper in
                        body(View(ascii: ascii, start: start, lower: lower, upper: upper))
                    }
                }
            }
        }
    }
}

// MARK: - Parser

/// The pattern as a tree, with its compiled size worked out while parsing so that
/// an oversized pattern is refused before anything is expanded.
indirect enum PatternNode: Sendable {
    case empty
    case scalar(UInt32)
    case set(ScalarSet)
    case assertion(Assertion)
    case concatenation([PatternNode])
    case alternation([PatternNode])
    case repetition(PatternNode, min: Int, max: Int?)
}

struct SizedNode {
    var node: PatternNode
    /// Instructions it compiles to (see `PatternCompiler`).
    var size: Int
}

struct PatternParser {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var depth = 0

    init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

    private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }
    private func peek(_ offset: Int) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    /// Positions in messages count characters from 1, as an editor does.
    private func at(_ position: Int) -> String { "at character \(position + 1)" }

    private func fail(_ message: String) -> TenderError { TenderError.validation(message) }

    private func text(_ from: Int, _ to: Int) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[from..<min(to, scalars.count)])
        return String(view)
    }

    mutating func parsePattern() throws(TenderError) -> SizedNode {
        let tree = try alternation()
        if let scalar = peek, scalar == ")" {
            throw fail("unmatched ')' \(at(index))")
        }
        try checkSize(tree.size + 1, at: max(scalars.count - 1, 0))  // + the final match
        return tree
    }

    private func checkSize(_ size: Int, at position: Int) throws(TenderError) {
        guard size <= LinearPattern.maxProgramSize else {
            throw fail("the pattern is too large once its repetitions are expanded (more than "
                + "\(LinearPattern.maxProgramSize) steps, reached \(at(position))); use smaller counts")
        }
    }

    private mutating func alternation() throws(TenderError) -> SizedNode {
        var branches = [try concatenation()]
        var size = branches[0].size
        while peek == "|" {
            let position = index
            index += 1
            let branch = try concatenation()
            branches.append(branch)
            size += branch.size + 2  // a split before and a jump after each branch but the last
            try checkSize(size, at: position)
        }
        if branches.count == 1 { return branches[0] }
        return SizedNode(node: .alternation(branches.map(\.node)), size: size)
    }

    private mutating func concatenation() throws(TenderError) -> SizedNode {
        var items: [PatternNode] = []
        var size = 0
        while let scalar = peek, scalar != "|", scalar != ")" {
            let start = index
            let atom = try self.atom()
            let item = try quantified(atom, start: start)
            items.append(item.node)
            size += item.size
            try checkSize(size, at: start)
        }
        switch items.count {
        case 0: return SizedNode(node: .empty, size: 0)
        case 1: return SizedNode(node: items[0], size: size)
        default: return SizedNode(node: .concatenation(items), size: size)
        }
    }

    // MARK: Quantifiers

    private mutating func quantified(_ atom: SizedNode, start: Int) throws(TenderError) -> SizedNode {
        guard let bounds = try quantifier() else { return atom }
        if case .assertion = atom.node {
            throw fail("'\(text(bounds.position, index))' \(at(bounds.position)) follows an anchor; there is nothing to repeat")
        }
        if let scalar = peek, scalar == "+" {
            throw fail("possessive quantifier '\(text(bounds.position, index + 1))' \(at(bounds.position)) is not supported "
                + "(it needs a backtracking engine); drop the '+'")
        }
        if let scalar = peek, scalar == "?" { index += 1 }  // lazy: same yes/no for a whole match
        if let next = peek, "*+?{".unicodeScalars.contains(next) {
            throw fail("'\(next)' \(at(index)) follows another quantifier; put the repeated part in a group to repeat it again")
        }
        let (min, max) = (bounds.min, bounds.max)
        let s = atom.size
        var size = min * s
        if let max { size += (max - min) * (s + 1) } else { size += s + 2 }
        try checkSize(size, at: start)
        if min == 1, max == 1 { return atom }
        return SizedNode(node: .repetition(atom.node, min: min, max: max), size: size)
    }

    /// Reads `* + ? {n} {n,} {n,m}` if one is next.
    private mutating func quantifier() throws(TenderError) -> (min: Int, max: Int?, position: Int)? {
        guard let scalar = peek else { return nil }
        let position = index
        switch scalar {
        case "*": index += 1; return (0, nil, position)
        case "+": index += 1; return (1, nil, position)
        case "?": index += 1; return (0, 1, position)
        case "{": break
        default: return nil
        }
        index += 1
        let low = number()
        var high: Int?? = .some(low)
        if peek == "," {
            index += 1
            let upper = number()
            high = upper.map { .some($0) } ?? .some(nil)
        }
        guard let low, peek == "}", case .some(let max) = high else {
            throw fail("'{' \(at(position)) does not start a repetition {n}, {n,} or {n,m}; write '\\{' for a literal brace")
        }
        index += 1
        let written = text(position, index)
        if low > LinearPattern.maxRepetition || (max ?? 0) > LinearPattern.maxRepetition {
            throw fail("repetition '\(written)' \(at(position)) exceeds the limit of \(LinearPattern.maxRepetition)")
        }
        if let max, max < low {
            throw fail("repetition '\(written)' \(at(position)) has its maximum below its minimum")
        }
        return (low, max, position)
    }

    /// Decimal digits, saturating well above any limit so a long run cannot overflow.
    private mutating func number() -> Int? {
        var value: Int?
        while let scalar = peek, ("0"..."9").contains(scalar) {
            value = Swift.min((value ?? 0) * 10 + Int(scalar.value - 0x30), 1_000_000)
            index += 1
        }
        return value
    }

    // MARK: Atoms

    private mutating func atom() throws(TenderError) -> SizedNode {
        let position = index
        let scalar = scalars[index]
        switch scalar {
        case "(":
            return try group()
        case "[":
            return SizedNode(node: .set(try characterClass()), size: 1)
        case ".":
            index += 1
            return SizedNode(node: .set(.dot), size: 1)
        case "^":
            index += 1
            return SizedNode(node: .assertion(.start), size: 1)
        case "$":
            index += 1
            return SizedNode(node: .assertion(.end), size: 1)
        case "\\":
            switch try escape(inClass: false) {
            case .scalar(let value): return SizedNode(node: .scalar(value), size: 1)
            case .set(let set): return SizedNode(node: .set(set), size: 1)
            case .assertion(let assertion): return SizedNode(node: .assertion(assertion), size: 1)
            }
        case "*", "+", "?", "{":
            throw fail("'\(scalar)' \(at(position)) has nothing to repeat; write '\\\(scalar)' for the character itself")
        default:
            index += 1
            return SizedNode(node: .scalar(scalar.value), size: 1)
        }
    }

    private mutating func group() throws(TenderError) -> SizedNode {
        let open = index
        index += 1
        if peek == "?" {
            let kind = peek(1)
            switch kind {
            case ":":
                index += 2
            case "<" where peek(2) == "=" || peek(2) == "!":
                throw fail("lookbehind '\(text(open, open + 4))' \(at(open)) is not supported (it needs a backtracking engine)")
            case "<":
                index += 2
                try groupName(open)
            case "P" where peek(2) == "<":
                index += 3
                try groupName(open)
            case "=", "!":
                throw fail("lookahead '\(text(open, open + 3))' \(at(open)) is not supported (it needs a backtracking engine)")
            case ">":
                throw fail("atomic group '(?>' \(at(open)) is not supported (it needs a backtracking engine)")
            case "#":
                throw fail("comment group '(?#' \(at(open)) is not supported")
            case let flag? where flag == "-" || flag.properties.isAlphabetic:
                var end = open + 2
                while end < scalars.count, scalars[end] != ")", scalars[end] != ":" { end += 1 }
                throw fail("inline flags '\(text(open, end + 1))' \(at(open)) are not supported")
            default:
                throw fail("'\(text(open, open + 3))' \(at(open)) is not a group this engine knows")
            }
        }
        depth += 1
        guard depth <= LinearPattern.maxGroupDepth else {
            throw fail("groups are nested deeper than \(LinearPattern.maxGroupDepth) levels \(at(open))")
        }
        let inner = try alternation()
        depth -= 1
        guard peek == ")" else { throw fail("missing ')' for the group opened \(at(open))") }
        index += 1
        return inner
    }

    /// `name>` of a named group; the name itself is not kept (nothing is captured).
    private mutating func groupName(_ open: Int) throws(TenderError) {
        let start = index
        while let scalar = peek, scalar.isASCII, scalar.properties.isAlphabetic || scalar.properties.numericType == .decimal {
            index += 1
        }
        guard index > start, scalars[start].properties.isAlphabetic, peek == ">" else {
            throw fail("the group name \(at(open)) must be letters and digits, starting with a letter, then '>'")
        }
        index += 1
    }

    // MARK: Escapes

    private enum Escaped {
        case scalar(UInt32)
        case set(ScalarSet)
        case assertion(Assertion)
    }

    /// Reads the escape starting at the backslash at `index`.
    private mutating func escape(inClass: Bool) throws(TenderError) -> Escaped {
        let position = index
        guard let letter = peek(1) else { throw fail("the pattern ends with a lone '\\'") }
        index += 2
        let written = "\\\(letter)"
        switch letter {
        case "d": return .set(.digit)
        case "D": return .set(ScalarSet.digit.inverted)
        case "w": return .set(.word)
        case "W": return .set(ScalarSet.word.inverted)
        case "s": return .set(.space)
        case "S": return .set(ScalarSet.space.inverted)
        case "t": return .scalar(0x09)
        case "n": return .scalar(0x0A)
        case "v": return .scalar(0x0B)
        case "f": return .scalar(0x0C)
        case "r": return .scalar(0x0D)
        case "a": return .scalar(0x07)
        case "e": return .scalar(0x1B)
        case "x": return .scalar(try hexEscape(position, fixedDigits: 2))
        case "u": return .scalar(try hexEscape(position, fixedDigits: 4))
        case "A", "z", "Z", "b", "B":
            if inClass {
                let hint = letter == "b" ? "; write \\x08 for a backspace" : ""
                throw fail("'\(written)' \(at(position)) is not allowed inside a class\(hint)")
            }
            switch letter {
            case "A": return .assertion(.start)
            case "z": return .assertion(.end)
            case "Z": return .assertion(.endOrFinalNewline)
            case "b": return .assertion(.wordBoundary)
            default: return .assertion(.notWordBoundary)
            }
        case "1"..."9":
            throw fail("backreference '\(written)' \(at(position)) is not supported (it needs a backtracking engine)")
        case "k", "g":
            throw fail("backreference '\(written)' \(at(position)) is not supported (it needs a backtracking engine)")
        case "0":
            throw fail("octal escape '\\0' \(at(position)) is not supported; write \\x00 or \\u0000")
        case "p", "P":
            throw fail("Unicode property class '\(written)' \(at(position)) is not supported; list the characters in a class")
        default:
            if letter.isASCII, letter.properties.isAlphabetic || letter.properties.numericType == .decimal {
                throw fail("unknown escape '\(written)' \(at(position))")
            }
            return .scalar(letter.value)  // \. \* \\ \- \] ... stand for the character itself
        }
    }

    /// `\xhh`, `\uhhhh`, or either with braces: `\x{1F600}`, `\u{e9}`.
    private mutating func hexEscape(_ position: Int, fixedDigits: Int) throws(TenderError) -> UInt32 {
        let invalid = fail("'\(text(position, index + fixedDigits))' \(at(position)) is not a valid hex escape: "
            + "\\x then 2 hex digits, \\u then 4, or either with 1 to 6 digits in braces")
        var digits = 0
        var value: UInt32 = 0
        func hex(_ scalar: Unicode.Scalar?) -> UInt32? {
            guard let scalar, scalar.isASCII else { return nil }
            return UInt32(String(scalar), radix: 16)
        }
        if peek == "{" {
            index += 1
            while let digit = hex(peek), digits < 6 {
                value = value * 16 + digit
                digits += 1
                index += 1
            }
            guard digits > 0, peek == "}" else { throw invalid }
            index += 1
        } else {
            while digits < fixedDigits {
                guard let digit = hex(peek) else { throw invalid }
                value = value * 16 + digit
                digits += 1
                index += 1
            }
        }
        guard Unicode.Scalar(value) != nil else {
            throw fail("'\(text(position, index))' \(at(position)) is not a Unicode scalar value")
        }
        return value
    }

    // MARK: Classes

    private mutating func characterClass() throws(TenderError) -> ScalarSet {
        let open = index
        index += 1
        let negated = peek == "^"
        if negated { index += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let scalar = peek else { throw fail("the class '[' opened \(at(open)) is not closed with ']'") }
            if scalar == "]", !first {
                index += 1
                break
            }
            if scalar == "[" {
                throw fail("'[' \(at(index)) inside a class is not supported (nested and POSIX classes are not); write '\\['")
            }
            if scalar == "&", peek(1) == "&" {
                throw fail("'&&' \(at(index)) inside a class is not supported (class intersection); write '\\&\\&'")
            }
            first = false
            let start = index
            let low = try classAtom()
            if peek == "-", let after = peek(1), after != "]" {
                index += 1
                let high = try classAtom()
                guard case .scalar(let lower) = low, case .scalar(let upper) = high else {
                    throw fail("the range '\(text(start, index))' \(at(start)) must run between single characters")
                }
                guard lower <= upper else {
                    throw fail("the range '\(text(start, index))' \(at(start)) is out of order")
                }
                ranges.append(lower...upper)
            } else {
                switch low {
                case .scalar(let value): ranges.append(value...value)
                case .set(let set): ranges += set.ranges
                case .assertion: break  // classAtom never returns one
                }
            }
        }
        let set = ScalarSet(ranges)
        return negated ? set.inverted : set
    }

    private mutating func classAtom() throws(TenderError) -> Escaped {
        guard let scalar = peek else { throw fail("the pattern ends inside a class") }
        if scalar == "\\" { return try escape(inClass: true) }
        index += 1
        return .scalar(scalar.value)
    }
}

// MARK: - Compiler

/// Emits the program the tree's `size` was counted for: a literal, class or
/// assertion is one instruction; `a|b|c` adds a split and a jump per branch but
/// the last; `x{n,m}` is n copies of x then m-n optional copies nested as
/// `(x(x)?)?` (each behind one split, so a thread is only ever in one of them
/// per count consumed); `x{n,}` is n copies then `x*` (a split, x, a jump back).
struct PatternCompiler {
    var program: [Instruction] = []
    var sets = CompiledSets()
    private var known: [ScalarSet] = []

    private var here: Int32 { Int32(program.count) }

    mutating func emit(_ node: PatternNode) {
        switch node {
        case .empty:
            break
        case .scalar(let value):
            program.append(.scalar(value))
        case .set(let set):
            let index: Int
            if let existing = known.firstIndex(of: set) {
                index = existing
            } else {
                index = known.count
                known.append(set)
                sets.append(set)
            }
            program.append(.set(Int32(index)))
        case .assertion(let assertion):
            program.append(.assert(assertion))
        case .concatenation(let items):
            for item in items { emit(item) }
        case .alternation(let branches):
            var exits: [Int] = []
            for branch in branches.dropLast() {
                let split = program.count
                program.append(.split(here + 1, 0))
                emit(branch)
                exits.append(program.count)
                program.append(.jump(0))
                program[split] = .split(Int32(split + 1), here)
            }
            if let last = branches.last { emit(last) }
            for exit in exits { program[exit] = .jump(here) }
        case .repetition(let body, let min, let max):
            for _ in 0..<min { emit(body) }
            if let max {
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    program.append(.split(here + 1, 0))
                    emit(body)
                }
                for split in splits { program[split] = .split(Int32(split + 1), here) }
            } else {
                let loop = program.count
                program.append(.split(here + 1, 0))
                emit(body)
                program.append(.jump(Int32(loop)))
                program[loop] = .split(Int32(loop + 1), here)
            }
        }
    }
}

// MARK: - Matching

/// Runs a program over a text: the live threads at each position are a set of
/// program counters (each added once), advanced together one scalar at a time.
/// At most `program.count` threads are live, so a position costs at most that
/// many steps; no thread is ever revisited at a position.
enum PikeVM {
    /// Each instruction is `width` words: an operation and up to two operands. Plain
    /// integers rather than `Instruction` values, because the enum's case tests and
    /// payload copies made a debug build (the tests') several times slower.
    static let width = 3
    static let opScalar: Int32 = 0
    static let opSet: Int32 = 1
    static let opSplit: Int32 = 2
    static let opJump: Int32 = 3
    static let opAssert: Int32 = 4
    static let opMatch: Int32 = 5
    /// Stands for "no scalar" (before the start, after the end): above every scalar value.
    static let none = UInt32.max

    static func lower(_ program: [Instruction]) -> [Int32] {
        var code: [Int32] = []
        code.reserveCapacity(program.count * width)
        for instruction in program {
            switch instruction {
            case .scalar(let value): code += [opScalar, Int32(bitPattern: value), 0]
            case .set(let index): code += [opSet, index, 0]
            case .split(let first, let second): code += [opSplit, first, second]
            case .jump(let target): code += [opJump, target, 0]
            case .assert(let assertion): code += [opAssert, assertion.rawValue, 0]
            case .match: code += [opMatch, 0, 0]
            }
        }
        return code
    }

    static func run(_ code: [Int32], _ sets: CompiledSets, _ text: String) -> Bool {
        code.withUnsafeBufferPointer { code in
            sets.withView { sets in
                guard let base = code.baseAddress else { return false }
                return run(base, code.count / width, sets, text)
            }
        }
    }

    private static func run(_ code: UnsafePointer<Int32>, _ size: Int, _ sets: CompiledSets.View, _ text: String) -> Bool {
        // Threads waiting to consume the current scalar (consuming instructions and
        // `match` only), and the list being built for the next one.
        var current = UnsafeMutablePointer<Int32>.allocate(capacity: size)
        var next = UnsafeMutablePointer<Int32>.allocate(capacity: size)
        // Program counters still to expand through moves that consume nothing: the
        // threads that consumed the scalar, then at most two per pc expanded (each pc
        // is expanded once per position).
        let pending = UnsafeMutablePointer<Int32>.allocate(capacity: 3 * size + 1)
        // `visited[pc] == generation` once `pc` has been reached at the position being built.
        let visited = UnsafeMutablePointer<UInt32>.allocate(capacity: size)
        visited.initialize(repeating: 0, count: size)
        defer {
            current.deallocate()
            next.deallocate()
            pending.deallocate()
            visited.deallocate()
        }
        var currentCount = 0
        var nextCount = 0
        var generation: UInt32 = 0

        // What zero-width assertions see: the scalars before and at the position
        // being built, and the one after that (`\Z`).
        var iterator = text.unicodeScalars.makeIterator()
        var previous = none
        var scalar = iterator.next()?.value ?? none
        var after = scalar == none ? none : iterator.next()?.value ?? none
        pending[0] = 0
        var pendingCount = 1
        while true {
            // Build `next`: everything reachable from `pending` without consuming.
            generation &+= 1
            if generation == 0 {  // wrapped after 4 billion positions: start the marks afresh
                visited.update(repeating: 0, count: size)
                generation = 1
            }
            nextCount = 0
            while pendingCount > 0 {
                pendingCount -= 1
                let pc = Int(pending[pendingCount])
                if visited[pc] == generation { continue }
                visited[pc] = generation
                let word = code + pc * width
                switch word[0] {
                case opJump:
                    pending[pendingCount] = word[1]
                    pendingCount += 1
                case opSplit:
                    pending[pendingCount] = word[2]
                    pending[pendingCount + 1] = word[1]
                    pendingCount += 2
                case opAssert:
                    if holds(word[1], previous, scalar, after) {
                        pending[pendingCount] = Int32(pc + 1)
                        pendingCount += 1
                    }
                default:  // scalar, set, match: a thread waits here
                    next[nextCount] = Int32(pc)
                    nextCount += 1
                }
            }
            swap(&current, &next)
            swap(&currentCount, &nextCount)

            // Consume the scalar at this position.
            if scalar == none { break }
            if currentCount == 0 { return false }
            let value = scalar
            previous = scalar
            scalar = after
            after = scalar == none ? none : iterator.next()?.value ?? none
            for slot in 0..<currentCount {
                let pc = current[slot]
                let word = code + Int(pc) * width
                let op = word[0]
                if (op == opScalar && UInt32(bitPattern: word[1]) == value)
                    || (op == opSet && sets.contains(value, inSet: Int(word[1])))
                {
                    pending[pendingCount] = pc + 1
                    pendingCount += 1
                }
            }
        }
        for slot in 0..<currentCount where code[Int(current[slot]) * width] == opMatch {
            return true
        }
        return false
    }

    private static func holds(_ assertion: Int32, _ previous: UInt32, _ scalar: UInt32, _ after: UInt32) -> Bool {
        switch Assertion(rawValue: assertion) {
        case .start?: return previous == none
        case .end?: return scalar == none
        case .endOrFinalNewline?: return scalar == none || (scalar == 0x0A && after == none)
        case .wordBoundary?: return isWord(previous) != isWord(scalar)
        case .notWordBoundary?: return isWord(previous) == isWord(scalar)
        case nil: return false
        }
    }

    /// `\w`'s characters (ASCII, as in Java), for `\b` and `\B`.
    private static func isWord(_ scalar: UInt32) -> Bool {
        (0x30...0x39).contains(scalar) || (0x41...0x5A).contains(scalar) || scalar == 0x5F || (0x61...0x7A).contains(scalar)
    }
}
