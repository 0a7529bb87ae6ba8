import TenderWire
import TenderWire

/// A document's declared parameters, as step-input checks see them: which strings
/// hold `{{ }}` references, and whether a lone reference's type fits the field.
struct DeclaredReferences: InputReferences {
    let declared: [String: DocumentParameter.Kind]

    func holdsReference(_ text: String) -> Bool {
        !ParameterTemplate(text).references.isEmpty
    }

    func mismatch(_ text: String, takes shape: InputShape) -> String? {
        guard let name = ParameterTemplate(text).soleReference, let kind = declared[name] else { return nil }
        let fits: Bool
        switch shape {
        case .text: fits = kind != .stringList
        case .wholeNumber: fits = kind != .stringList && kind != .boolean
        }
        return fits ? nil : "parameter '\(name)' is a \(kind.rawValue)"
    }
}
