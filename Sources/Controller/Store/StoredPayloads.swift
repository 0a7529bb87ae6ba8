import Foundation
import TenderWire

/// How step payloads are kept in `invocations.payloads_json`: the wire form, as JSON.
/// Reading never fails a whole listing: a value that does not decode (written by a
/// newer controller in a form this one cannot read) reads as no payloads.
enum StoredPayloads {
    static func encode(_ payloads: [StepPayload]) -> String? {
        guard !payloads.isEmpty, let data = try? JSONEncoder().encode(payloads) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ json: String?) -> [StepPayload] {
        guard let json else { return [] }
        return (try? JSONDecoder().decode([StepPayload].self, from: Data(json.utf8))) ?? []
    }
}
