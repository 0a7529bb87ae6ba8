#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire

/// The package facts a filter can test.
public enum PatchFilterKey: String, Codable, Sendable, CaseIterable {
    case product = "PRODUCT"
    case priority = "PRIORITY"
    case section = "SECTION"
    case name = "NAME"
    case classification = "CLASSIFICATION"
    case severity = "SEVERITY"
}

/// One filter of a group: the package's `key` fact matches one of `values`
/// (case-insensitive; `*` stands for any run of characters, so `*` alone also
/// matches a package that lacks the fact).
public struct PatchFilter: Codable, Sendable, Equatable, Hashable {
    public var key: PatchFilterKey
    public var values: [String]

    public init(key: PatchFilterKey, values: [String]) {
        self.key = key
        self.values = values
    }

    /// The most values one filter takes, and the longest value.
    public static let maxValues = 100
    public static let maxValueLength = 200

    /// Reads the CLI form `KEY=v1,v2`, reporting every problem under `path`.
    public static func parse(_ text: String, path: String, problems: inout [DocumentProblem]) -> PatchFilter? {
        guard let equals = text.firstIndex(of: "=") else {
            problems.append(DocumentProblem(path: path, message: "\"\(String(text.prefix(100)))\" is not KEY=VALUE[,VALUE...]"))
            return nil
        }
        let keyText = text[..<equals].trimmingBlanks().uppercased()
        guard let key = PatchFilterKey(rawValue: keyText) else {
            let known = PatchFilterKey.allCases.map(\.rawValue).joined(separator: ", ")
            problems.append(DocumentProblem(path: path, message: "unknown filter key \"\(String(keyText.prefix(50)))\"; one of \(known)"))
            return nil
        }
        let values = text[text.index(after: equals)...].split(separator: ",").map { $0.trimmingBlanks() }
        let filter = PatchFilter(key: key, values: values)
        let before = problems.count
        filter.check(path: path, problems: &problems)
        return problems.count == before ? filter : nil
    }

    /// Adds what is wrong with this filter's values to `problems`.
    public func check(path: String, problems: inout [DocumentProblem]) {
        if values.isEmpty || values.contains(where: \.isEmpty) {
            problems.append(DocumentProblem(path: path, message: "\(key.rawValue) needs one or more non-empty values"))
        }
        if values.count > Self.maxValues {
            problems.append(DocumentProblem(path: path, message: "\(key.rawValue) has \(values.count) values, at most \(Self.maxValues)"))
        }
        if let long = values.first(where: { $0.count > Self.maxValueLength }) {
            problems.append(DocumentProblem(path: path, message: "\(key.rawValue) value \"\(String(long.prefix(40)))...\" is longer than \(Self.maxValueLength) characters"))
        }
    }

    /// Whether `fact` (nil: the package does not have it) passes this filter.
    public func matches(_ fact: String?) -> Bool {
        values.contains { Wildcard.matches($0, fact) }
    }
}

/// `*` patterns over package facts, compared without regard to case.
enum Wildcard {
    static func matches(_ pattern: String, _ text: String?) -> Bool {
        if pattern == "*" { return true }
        guard let text else { return false }
        return matches(Array(pattern.lowercased().utf8)[...], Array(text.lowercased().utf8)[...])
    }

    /// Iterative glob match with backtracking to the last `*`: linear in practice,
    /// never exponential on hostile patterns.
    private static func matches(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        let star = UInt8(ascii: "*")
        var p = pattern.startIndex, t = text.startIndex
        var starAt: Int? = nil, resumeText = text.startIndex
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == star {
                starAt = p
                resumeText = t
                p += 1
            } else if p < pattern.endIndex, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let s = starAt {
                p = s + 1
                resumeText += 1
                t = resumeText
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == star { p += 1 }
        return p == pattern.endIndex
    }
}
