#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension DocumentValue {
    /// A typed value as a value tree, through its JSON form: how a capability puts
    /// its own types into step inputs and payload bodies. Throws for values whose
    /// JSON holds a fraction (a `Date` with default coding), which a tree cannot hold.
    public static func from<T: Encodable>(_ value: T) throws -> DocumentValue {
        try JSONDecoder().decode(DocumentValue.self, from: JSONEncoder().encode(value))
    }

    /// The tree read back as a typed value (the reverse of `from`).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: JSONEncoder().encode(self))
    }
}
