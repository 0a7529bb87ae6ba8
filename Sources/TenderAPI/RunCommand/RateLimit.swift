/// MaxConcurrency / MaxErrors as operators write them: a count (`50`) or a
/// percentage of the command's targets (`10%`).
public enum RateLimit: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    case count(Int)
    case percent(Int)

    public init(parsing text: String, what: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            guard let value = Int(trimmed.dropLast()), (0...100).contains(value) else {
                throw TenderError.validation("\(what) '\(text)' must be a whole percentage from 0% to 100%")
            }
            self = .percent(value)
        } else {
            guard let value = Int(trimmed), value >= 0, value <= 100_000 else {
                throw TenderError.validation("\(what) '\(text)' must be a count (0 to 100000) or a percentage like 10%")
            }
            self = .count(value)
        }
    }

    /// The window size for `targets` targets: a percentage rounds up and is at least 1,
    /// so `10%` of 3 targets still sends one at a time rather than none.
    public func concurrency(targets: Int) -> Int {
        switch self {
        case .count(let n): return max(1, n)
        case .percent(let p): return max(1, (targets * p + 99) / 100)
        }
    }

    /// The errors tolerated for `targets` targets: a percentage rounds down, so `10%`
    /// of 3 targets tolerates none (the first failure stops sending).
    public func errors(targets: Int) -> Int {
        switch self {
        case .count(let n): return n
        case .percent(let p): return targets * p / 100
        }
    }

    public var description: String {
        switch self {
        case .count(let n): return String(n)
        case .percent(let p): return "\(p)%"
        }
    }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self), what: "rate limit")
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

import Foundation
import TenderWire
