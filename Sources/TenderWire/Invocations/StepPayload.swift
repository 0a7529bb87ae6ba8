#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A step's structured result, reported next to its text output: what a patch scan
/// found, what a deployment hook did. The capability that asked for the work reads
/// it back from the stored invocation; `kind` says how to read `body`.
///
/// A controller or agent that does not know a kind keeps it as opaque JSON (or, if
/// older than payloads, ignores the field): a payload never makes a result unreadable.
public struct StepPayload: Codable, Sendable, Equatable {
    /// The name of the step that produced it.
    public var step: String
    /// Names the body's shape, versioned: `tender.patch.scan/1`. 1 to 100 of
    /// letters, digits and `. _ - / :`.
    public var kind: String
    public var body: DocumentValue

    public init(step: String, kind: String, body: DocumentValue) {
        self.step = step
        self.kind = kind
        self.body = body
    }

    /// The most JSON all payloads of one invocation may take together. With the
    /// inline output it keeps a result well inside one channel frame.
    public static let maxTotalBytes = 256 * 1024
    /// The most payloads one invocation reports (one per step at most).
    public static let maxCount = 100

    public static func isKind(_ text: String) -> Bool {
        (1...100).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: ":")].contains(byte)
        }
    }

    /// Why `payloads` may not be reported or stored as they are, or nil when they may:
    /// too many, too large together, or a kind that is not one.
    public static func problem(with payloads: [StepPayload]) -> String? {
        if payloads.count > maxCount {
            return "\(payloads.count) step payloads, more than the \(maxCount) one invocation may report"
        }
        if let bad = payloads.first(where: { !isKind($0.kind) }) {
            return "step payload kind \"\(String(bad.kind.prefix(100)))\" is not 1 to 100 of letters, digits and . _ - / :"
        }
        let size = encodedSize(payloads)
        if size > maxTotalBytes {
            return "step payloads take \(size) bytes of JSON, more than the \(maxTotalBytes) one invocation may report"
        }
        return nil
    }

    /// The payloads' size as JSON (0 if they cannot be encoded).
    public static func encodedSize(_ payloads: [StepPayload]) -> Int {
        (try? JSONEncoder().encode(payloads).count) ?? 0
    }
}
