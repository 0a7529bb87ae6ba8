import Foundation
import Testing

/// `scripts/mutate` is run by hand, so its list of deliberate bugs could drift from
/// the code unnoticed: a block whose text no longer occurs would only show up as
/// INVALID weeks later. This runs its cheap `--list` check (every block complete,
/// every text found exactly once in its file) with the rest of the suite.
@Suite("scripts/mutate list")
struct MutationListTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("every block in scripts/mutations names a file, a text found there exactly once, and tests")
    func everyBlockStillApplies() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", Self.repository.appendingPathComponent("scripts/mutate").path, "--list"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "scripts/mutate --list:\n\(text)")
        #expect(text.contains("every text found exactly once"), "\(text)")
        // One list per area (docs/testing.md names the guarantees each covers).
        for list in ["run-command.txt", "gateway.txt", "agent.txt"] {
            #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent("scripts/mutations/\(list)").path), "scripts/mutations/\(list) is missing")
        }
    }
}
