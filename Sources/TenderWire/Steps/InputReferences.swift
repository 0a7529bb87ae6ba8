/// What checking a document's own step inputs, which may still hold `{{ name }}`
/// references, needs to know about those references. The document language
/// provides it (it knows the declared parameters); resolved inputs, the only kind
/// the agent sees, are checked without it.
package protocol InputReferences {
    /// True when `text` holds a reference, so its value is judged after interpolation.
    func holdsReference(_ text: String) -> Bool
    /// When `text` is exactly one reference to a parameter whose declared type
    /// cannot give `shape`: why, phrased as "parameter 'name' is a StringList".
    func mismatch(_ text: String, takes shape: InputShape) -> String?
}

/// What an input field takes, as far as a reference's declared type can tell.
package enum InputShape: Sendable {
    /// One piece of text (a directory, a user name): not a list.
    case text
    /// A whole number (seconds): not a list and not a boolean.
    case wholeNumber
}
