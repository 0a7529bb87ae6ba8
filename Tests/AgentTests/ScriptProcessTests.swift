import Foundation
import Testing
@testable import Agent
@testable import TenderWire

@Suite("Shell steps")
struct ScriptProcessTests {
    func withWorkDir<T>(_ body: (URL) async throws -> T) async throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-step-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await body(dir)
    }

    func text(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }

    /// True while `pid` is a live (not zombie) process.
    func alive(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.contains("State:\tZ")
    }

    @Test func runsLinesInOrderAndCapturesOutput() async throws {
        try await withWorkDir { dir in
            let outcome = try await ScriptProcess().run(
                RunShellScriptInputs(runCommand: ["echo hi", "echo to-err >&2", "echo \"$TENDER_TEST_VALUE\"", "exit 3"]),
                workDirectory: dir, environment: ["TENDER_TEST_VALUE": "from-env"]
            )
            #expect(outcome.ending == .exited(3))
            #expect(text(outcome.stdoutFile) == "hi\nfrom-env\n")
            #expect(text(outcome.stderrFile) == "to-err\n")
        }
    }

    @Test func honoursTheWorkingDirectory() async throws {
        try await withWorkDir { dir in
            let outcome = try await ScriptProcess().run(RunShellScriptInputs(runCommand: ["pwd"], workingDirectory: "/tmp"), workDirectory: dir)
            #expect(text(outcome.stdoutFile) == "/tmp\n")
            await #expect(throws: TenderError.self) {
                _ = try await ScriptProcess().run(RunShellScriptInputs(runCommand: ["pwd"], workingDirectory: "/no/such/dir"), workDirectory: dir)
            }
        }
    }

    @Test func timeoutKillsTheWholeProcessGroup() async throws {
        try await withWorkDir { dir in
            let pidFile = dir.appendingPathComponent("child.pid").path
            let started = ContinuousClock.now
            let outcome = try await ScriptProcess().run(
                RunShellScriptInputs(runCommand: ["sleep 300 &", "echo $! > \(pidFile)", "sleep 300"], timeoutSeconds: 5),
                workDirectory: dir
            )
            #expect(outcome.ending == .timedOut)
            #expect(ContinuousClock.now - started < .seconds(15))
            let child = try #require(Int32(text(URL(fileURLWithPath: pidFile)).trimmingCharacters(in: .whitespacesAndNewlines)))
            try await Task.sleep(for: .milliseconds(200))
            #expect(!alive(child), "the background child must be killed with its group")
        }
    }

    @Test func aBackgroundChildHoldingStdoutDoesNotHangTheStep() async throws {
        try await withWorkDir { dir in
            let pidFile = dir.appendingPathComponent("child.pid").path
            let started = ContinuousClock.now
            let outcome = try await ScriptProcess().run(
                RunShellScriptInputs(runCommand: ["(sleep 30; echo late) &", "echo $! > \(pidFile)", "echo main"]),
                workDirectory: dir
            )
            #expect(outcome.ending == .exited(0))
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(text(outcome.stdoutFile).hasPrefix("main\n"))
            if let child = Int32(text(URL(fileURLWithPath: pidFile)).trimmingCharacters(in: .whitespacesAndNewlines)) {
                _ = kill(child, SIGKILL)
            }
        }
    }

    @Test func cancelStopsAStepAtOnce() async throws {
        try await withWorkDir { dir in
            let handle = CancelHandle()
            let started = ContinuousClock.now
            async let outcome = ScriptProcess().run(RunShellScriptInputs(runCommand: ["sleep 300"]), workDirectory: dir, handle: handle)
            try await Task.sleep(for: .milliseconds(500))
            handle.cancel()
            #expect(try await outcome.ending == .cancelled)
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }
}
