import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `runAsUser` end to end: an agent with extra groups and a secret in its environment
/// runs a document step as `nobody`, and the stored output shows nobody's groups and
/// none of the agent's environment.
@Suite("E2E: runAsUser")
struct RunAsUserEndToEndTests {
    static let setpriv = "/usr/bin/setpriv"
    static var canRun: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: setpriv) }

    /// `id ... nobody` and the like, from the system's own tools.
    static func system(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `NAME=value` lines (after `marker`) as a dictionary.
    static func environment(in output: String, after marker: String) -> [String: String] {
        var env: [String: String] = [:]
        for line in output.components(separatedBy: marker + "\n").last?.split(separator: "\n") ?? [] {
            guard let eq = line.firstIndex(of: "=") else { continue }
            env[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return env
    }

    @Test("a step run as nobody gets nobody's groups and none of the agent's environment",
          .enabled(if: canRun, "needs root (to run as another user and to give the agent extra groups) and /usr/bin/setpriv"))
    func runAsNobodyDropsTheAgentsGroupsAndEnvironment() async throws {
        try await withSandbox("runasuser") { sb in
            let controller = try await sb.startController()
            let activation = try await sb.createActivation(controller, limit: 1)
            let agent = try await sb.registerAgent("runas", with: controller, activation: activation)
            // The agent as the review found it: root with the adm and disk groups, and a secret.
            let secretName = "TENDER_E2E_SECRET_\(UUID().uuidString.prefix(8).uppercased())"
            let secretValue = "secret-\(UUID().uuidString)"
            _ = try sb.launch("agent-runas", binary: Self.setpriv,
                              ["--groups", "0,4,6", "--", try Binaries.path("tender-agent"), "run", "--state-dir", agent.stateDir.path],
                              environment: [secretName: secretValue])
            _ = try await sb.waitFor("Online", [agent.instanceID], on: controller, timeout: .seconds(30))

            func output(of arguments: [String]) async throws -> String {
                let sent = try await sb.tender(controller, ["command", "send", "--target", "ids=\(agent.instanceID)", "--wait"] + arguments)
                let command = try RunCommandTests.decodeCommand(sent)
                #expect(command.status == "Success", "\(command)")
                let full = try await sb.tender(controller, ["command", "output", command.commandId, "--instance", agent.instanceID], json: false)
                #expect(full.exitCode == 0, "\(full)")
                return full.stdout
            }

            // As the agent itself: the groups and the secret are really there.
            let own = try await output(of: ["--document", "Tender-RunShellScript", "--param", "commands=id -G", "--param", "commands=echo ---", "--param", "commands=env"])
            let ownGroups = Set(own.split(separator: "\n").first?.split(separator: " ").map(String.init) ?? [])
            #expect(ownGroups.isSuperset(of: ["0", "4", "6"]), "the agent runs with extra groups: \(own)")
            let agentEnvironment = Self.environment(in: own, after: "---")
            #expect(agentEnvironment[secretName] == secretValue)

            // As nobody, through a custom document.
            let file = sb.url("AsNobody.yaml")
            try """
            schemaVersion: "2.2"
            mainSteps:
              - action: aws:runShellScript
                name: asNobody
                inputs:
                  runAsUser: nobody
                  runCommand: ["id -u", "id -g", "id -G", "echo ---", "env"]
            """.write(to: file, atomically: true, encoding: .utf8)
            #expect(try await sb.tender(controller, ["document", "create", "--file", file.path]).exitCode == 0)
            let stored = try await output(of: ["--document", "AsNobody"])
            let lines = stored.split(separator: "\n").map(String.init)
            try #require(lines.count > 4, "\(stored)")
            #expect(lines[0] == (try Self.system(["id", "-u", "nobody"])))
            #expect(lines[1] == (try Self.system(["id", "-g", "nobody"])))
            #expect(Set(lines[2].split(separator: " ")) == Set(try Self.system(["id", "-G", "nobody"]).split(separator: " ")),
                    "only nobody's groups, not the agent's \(ownGroups.sorted())")

            #expect(!stored.contains(secretName) && !stored.contains(secretValue), "the agent's secret reached the step:\n\(stored)")
            let env = Self.environment(in: stored, after: "---")
            let passwd = try Self.system(["getent", "passwd", "nobody"]).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            try #require(passwd.count == 7)
            #expect(env["HOME"] == passwd[5] && env["SHELL"] == passwd[6])
            #expect(env["USER"] == "nobody" && env["LOGNAME"] == "nobody")
            #expect(env["TENDER_INSTANCE_ID"] == agent.instanceID)
            // Nothing of the agent's own environment, beyond the variables a login sets anyway.
            let allowed: Set<String> = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "SHLVL", "_",
                                        "TENDER_INSTANCE_ID", "TENDER_COMMAND_ID", "TENDER_INVOCATION_ID"]
            let leaked = Set(env.keys).subtracting(allowed)
            #expect(leaked.isEmpty, "variables of the agent reached the step: \(leaked.sorted())")
            #expect(!Set(agentEnvironment.keys).subtracting(allowed).isEmpty, "the check above means something: the agent has variables of its own")
        }
    }
}
