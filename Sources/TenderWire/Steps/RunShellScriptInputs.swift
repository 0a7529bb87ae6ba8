#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The inputs of a `runShellScript` step once parameters are filled in.
///
/// After `resolvedSteps` they are always in one shape on the wire: `runCommand`
/// a list of lines (a single string becomes one line), `timeoutSeconds` a whole
/// number (`"3600"` from a String parameter becomes `3600`, an absent one the
/// default), `workingDirectory` present only when not empty. The agent then
/// reads them without second-guessing.
public struct RunShellScriptInputs: Sendable, Equatable {
    public static let defaultTimeoutSeconds = 3600
    public static let timeoutRange = 5...172_800

    /// Lines of the script, written to a file and run with `sh`.
    public var runCommand: [String]
    /// Nil means the agent's default directory.
    public var workingDirectory: String?
    public var timeoutSeconds: Int
    /// Run the script as this local user instead of the agent's (root).
    public var runAsUser: String?

    public init(runCommand: [String], workingDirectory: String? = nil, timeoutSeconds: Int = Self.defaultTimeoutSeconds, runAsUser: String? = nil) {
        self.runCommand = runCommand
        self.workingDirectory = workingDirectory
        self.timeoutSeconds = timeoutSeconds
        self.runAsUser = runAsUser
    }

    /// Reads resolved inputs; throws a `ValidationError` naming every bad field.
    public init(_ inputs: DocumentValue) throws {
        var problems = ProblemList()
        guard let inputs = Self.check(inputs, at: "inputs", references: nil, into: &problems) else {
            throw TenderError.problems(problems.items)
        }
        self = inputs
    }

    /// The normalised wire form.
    public var documentValue: DocumentValue {
        var object: [String: DocumentValue] = [
            "runCommand": .list(runCommand.map(DocumentValue.string)),
            "timeoutSeconds": .integer(timeoutSeconds),
        ]
        if let workingDirectory, !workingDirectory.isEmpty { object["workingDirectory"] = .string(workingDirectory) }
        if let runAsUser, !runAsUser.isEmpty { object["runAsUser"] = .string(runAsUser) }
        return .object(object)
    }

    static let inputNames = ["runCommand", "workingDirectory", "timeoutSeconds", "runAsUser"]

    /// Checks inputs at `path`. With `references` the inputs are the document's,
    /// still holding `{{ }}`: only what cannot depend on a value is judged, and the
    /// rest waits for interpolation. Without it they are resolved, and are returned
    /// typed when they hold no problem. One rule for both, so a document that passes
    /// its check can only fail here on a value it was given.
    package static func check(
        _ inputs: DocumentValue, at path: String, references: (any InputReferences)?, into problems: inout ProblemList
    ) -> RunShellScriptInputs? {
        let before = problems.items.count
        guard case .object(let fields) = inputs else {
            problems.add(path, "must be an object with runCommand")
            return nil
        }
        for key in fields.keys.sorted() where !inputNames.contains(key) {
            problems.add(FieldPath.key(path, key), "unknown input; runShellScript takes \(inputNames.joined(separator: ", "))")
        }

        var lines: [String] = []
        let runCommandPath = FieldPath.key(path, "runCommand")
        switch fields["runCommand"] {
        case nil:
            problems.add(runCommandPath, "is required")
        case .string(let line)?:
            lines = [line]
        case .list(let items)?:
            if items.isEmpty { problems.add(runCommandPath, "must have at least one line") }
            for (index, item) in items.enumerated() {
                if case .string(let line) = item {
                    lines.append(line)
                } else {
                    problems.add(FieldPath.index(runCommandPath, index), "must be a string, got \(kindName(item))")
                }
            }
        case let other?:
            problems.add(runCommandPath, "must be a list of lines or a string, got \(kindName(other))")
        }

        var directory: String?
        let directoryPath = FieldPath.key(path, "workingDirectory")
        switch fields["workingDirectory"] {
        case nil: break
        case .string(let text)?:
            directory = text.isEmpty ? nil : text
            if let mismatch = references?.mismatch(text, takes: .text) {
                problems.add(directoryPath, "\(mismatch); workingDirectory takes one directory")
            }
        case let other?:
            problems.add(directoryPath, "must be a string, got \(kindName(other))")
        }

        var timeout = defaultTimeoutSeconds
        let timeoutPath = FieldPath.key(path, "timeoutSeconds")
        let range = "\(timeoutRange.lowerBound)...\(timeoutRange.upperBound)"
        switch fields["timeoutSeconds"] {
        case nil: break
        case .integer(let seconds)?:
            timeout = seconds
            if !timeoutRange.contains(seconds) { problems.add(timeoutPath, "\(seconds) is outside \(range) seconds") }
        case .string(let text)?:
            if let references, references.holdsReference(text) {
                if let mismatch = references.mismatch(text, takes: .wholeNumber) {
                    problems.add(timeoutPath, "\(mismatch); timeoutSeconds takes a number of seconds")
                }
                break  // the value is known only after interpolation
            }
            if let seconds = Int(text.trimmingBlanks()) {
                timeout = seconds
                if !timeoutRange.contains(seconds) { problems.add(timeoutPath, "\(seconds) is outside \(range) seconds") }
            } else {
                problems.add(timeoutPath, "\(quoted(text)) is not a whole number of seconds")
            }
        case let other?:
            problems.add(timeoutPath, "must be a whole number of seconds, got \(kindName(other))")
        }

        var user: String?
        let userPath = FieldPath.key(path, "runAsUser")
        switch fields["runAsUser"] {
        case nil: break
        case .string(let text)?:
            if let references, references.holdsReference(text) { break }
            // POSIX portable user names; checked again against the host's users by the agent.
            if !text.isEmpty, !(text.count <= 32 && text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) && !text.hasPrefix("-")) {
                problems.add(userPath, "\(quoted(text)) is not a valid user name")
            }
            user = text.isEmpty ? nil : text
        case let other?:
            problems.add(userPath, "must be a user name, got \(kindName(other))")
        }

        guard problems.items.count == before else { return nil }
        return RunShellScriptInputs(runCommand: lines, workingDirectory: directory, timeoutSeconds: timeout, runAsUser: user)
    }

    private static func kindName(_ value: DocumentValue) -> String {
        switch value {
        case .string: return "a string"
        case .integer: return "a number"
        case .bool: return "a boolean"
        case .list: return "a list"
        case .object: return "an object"
        case .null: return "null"
        }
    }
}
