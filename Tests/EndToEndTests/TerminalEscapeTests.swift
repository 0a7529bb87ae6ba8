import Foundation
import Testing

/// Text from agents and registrants never reaches the operator's terminal as control
/// characters: the controller strips them from what it stores, and `tender` shows the
/// rest (a script's output) as visible text in tables and on a terminal.
@Suite("E2E: terminal escapes", .timeLimit(.minutes(10)))
struct TerminalEscapeTests {
    static let esc = "\u{1B}"
    /// What the script prints: a colour sequence, a C1 CSI and a bidi override.
    static let printed = esc + "[31mred" + esc + "[0m\u{9B}2J\u{202E}x\n"
    /// How tables show its first line.
    static let shown = #"\e[31mred\e[0m\u{9B}2J\u{202E}x"#

    @Test("a registrant's name and a script's output with ESC sequences print as text in tables; raw only when piped")
    func escapesAreShownAsText() async throws {
        try await withSandbox("escapes") { sb in
            let controller = try await sb.startController()
            let activation = try await sb.createActivation(controller, limit: 1)
            let stateDir = sb.agentStateDir("red")
            let registered = try await sb.registerRaw("red", controllerURL: controller.agentURL, activationID: activation.activationId,
                                                      code: activation.activationCode ?? "", fingerprint: activation.caFingerprint,
                                                      stateDir: stateDir, extra: ["--name", Self.esc + "[31mred"])
            try #require(registered.exitCode == 0, "\(registered)")
            struct Out: Decodable { let instanceId: String }
            let id = try registered.decode(Out.self).instanceId
            _ = try sb.startAgent(AgentHandle(label: "red", stateDir: stateDir, instanceID: id))
            let online = try await sb.waitFor("Online", [id], on: controller, timeout: .seconds(30))
            #expect(online.first { $0.instanceId == id }?.name == "[31mred", "the controller stores the name without its ESC")

            let list = try await sb.tender(controller, ["instance", "list"], json: false)
            #expect(list.exitCode == 0, "\(list)")
            #expect(!list.stdout.contains(Self.esc), "instance list printed an ESC byte: \(list.stdout.debugDescription)")
            #expect(list.stdout.contains("[31mred"), "\(list.stdout)")

            // A script that prints a colour sequence: its output is stored as it is.
            let sent = try await sb.tender(controller, ["command", "send", "--document", "Tender-RunShellScript", "--target", "*",
                                                        "--param", #"commands=printf '\033[31mred\033[0m\302\2332J\342\200\256x\n'"#, "--wait"])
            #expect(sent.exitCode == 0, "\(sent)")
            struct Command: Decodable {
                struct Invocation: Decodable { let stdout: String }
                let commandId: String
                let invocations: [Invocation]?
            }
            let command = try sent.decode(Command.self)
            // JSON keeps the text, every control written as \uXXXX.
            #expect(!sent.stdout.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{9B}" || $0 == "\u{202E}" }, "JSON output carried a raw control: \(sent.stdout.debugDescription)")
            #expect(command.invocations?.first?.stdout == Self.printed)

            let show = try await sb.tender(controller, ["command", "show", command.commandId], json: false)
            #expect(show.exitCode == 0, "\(show)")
            #expect(!show.stdout.contains(Self.esc), "command show printed an ESC byte: \(show.stdout.debugDescription)")
            #expect(show.stdout.contains(Self.shown), "\(show.stdout)")

            // `command output` is the full output for piping: byte for byte into a file…
            let piped = try await sb.tender(controller, ["command", "output", command.commandId, "--instance", id], json: false)
            #expect(piped.stdout == Self.printed, "\(piped.stdout.debugDescription)")

            // …and escaped on a terminal unless --raw.
            let onTTY = try await sb.onTerminal(controller, ["command", "output", command.commandId, "--instance", id])
            #expect(onTTY.exitCode == 0, "\(onTTY)")
            #expect(!onTTY.stdout.contains(Self.esc), "command output on a terminal printed an ESC byte: \(onTTY.stdout.debugDescription)")
            #expect(onTTY.stdout.contains(Self.shown), "\(onTTY.stdout.debugDescription)")
            let raw = try await sb.onTerminal(controller, ["command", "output", command.commandId, "--instance", id, "--raw"])
            #expect(raw.stdout.contains(Self.esc + "[31mred"), "\(raw.stdout.debugDescription)")
        }
    }
}

extension Sandbox {
    /// Runs `tender ARGS` (admin token, table output) with its stdout on a pseudo-terminal
    /// (python3's os.openpty); returns what the terminal received.
    func onTerminal(_ controller: ControllerHandle, _ arguments: [String]) async throws -> CommandResult {
        let script = url("on_terminal.py")
        if !FileManager.default.fileExists(atPath: script.path) {
            try Data(onTerminalScript.utf8).write(to: script)
        }
        let tender = try Binaries.path("tender")
        let globals = ["--addr", controller.apiURL, "--ca-cert", controller.caPath, "--token-file", controller.tokenPath]
        return try await run("tty tender " + arguments.prefix(2).joined(separator: " "), binary: "/usr/bin/env",
                             ["python3", script.path, tender] + globals + arguments)
    }
}

let onTerminalScript = #"""
import os, subprocess, sys

master, slave = os.openpty()
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
os.close(slave)
out = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
err = child.stderr.read()
code = child.wait()
sys.stdout.buffer.write(out)
sys.stderr.buffer.write(err)
sys.exit(code)
"""#
