import Foundation
import Testing
@testable import Agent
@testable import TenderWire

#if canImport(Glibc)
import Glibc
#endif

/// `runAsUser`: a step gets the target user's uid, gid and groups and a minimal
/// environment of its own, never the agent's groups or environment.
@Suite("Run as another user")
struct RunAsUserTests {
    /// A variable only this test process has, standing in for a secret in the agent's
    /// environment. Set once per process: glibc's first `setenv` of a new name copies
    /// `environ` rather than freeing it, so threads reading it meanwhile stay safe.
    static let secret: (name: String, value: String) = {
        let name = "TENDER_TEST_SECRET_\(Identifiers.randomHex(8).uppercased())"
        let value = "secret-\(Identifiers.randomHex(8))"
        setenv(name, value, 1)
        return (name, value)
    }()

    /// What the system's own tools say (not our lookup): `id` and `getent`.
    static func system(_ arguments: [String]) async throws -> String {
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

    /// `getent passwd NAME` split into its fields.
    static func passwdEntry(_ name: String) async throws -> [String] {
        try await system(["getent", "passwd", name]).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    }

    func withWorkDir<T>(_ body: (URL) async throws -> T) async throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-runas-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await body(dir)
    }

    @Test func theLookupMatchesTheSystemsIdAndGetent() async throws {
        let nobody = try UserAccount.lookUp("nobody")
        #expect(String(nobody.uid) == (try await Self.system(["id", "-u", "nobody"])))
        #expect(String(nobody.gid) == (try await Self.system(["id", "-g", "nobody"])))
        #expect(Set(nobody.groups.map(String.init)) == Set(try await Self.system(["id", "-G", "nobody"]).split(separator: " ").map(String.init)))
        let entry = try await Self.passwdEntry("nobody")
        #expect(entry.count == 7)
        #expect(nobody.home == entry[5] && nobody.shell == entry[6])

        // Thread-safe: many lookups at once all see the same answers.
        let answers = await withTaskGroup(of: UserAccount?.self) { group in
            for i in 0..<64 { group.addTask { try? UserAccount.lookUp(i.isMultiple(of: 2) ? "nobody" : "root") } }
            return await group.reduce(into: [UserAccount?]()) { $0.append($1) }
        }
        let root = try UserAccount.lookUp("root")
        #expect(answers.count == 64 && answers.allSatisfy { $0 == nobody || $0 == root })
        #expect(answers.filter { $0 == nobody }.count == 32)
    }

    @Test func anUnknownUserIsAClearError() throws {
        #expect {
            try UserAccount.lookUp("no-such-user-x")
        } throws: { error in
            guard let error = error as? TenderError else { return false }
            return error.code == .notFound && error.message == "user 'no-such-user-x' does not exist on this host"
        }
        #expect(throws: TenderError.self) { try UserAccount.lookUp("") }
    }

    @Test(.enabled(if: getuid() == 0, "running a step as another user needs root"))
    func aStepAsNobodyHasOnlyNobodysGroupsAndEnvironment() async throws {
        let secret = Self.secret
        #expect(String(cString: getenv(secret.name)) == secret.value, "the agent's own environment has the secret")
        let nobody = try UserAccount.lookUp("nobody")
        let entry = try await Self.passwdEntry("nobody")
        try await withWorkDir { dir in
            let outcome = try await ScriptProcess().run(
                RunShellScriptInputs(runCommand: ["id -u", "id -g", "id -G", "env"]),
                workDirectory: dir, environment: ["TENDER_INVOCATION_ID": "inv-1"], account: nobody)
            #expect(outcome.ending == .exited(0))
            let output = (try? String(contentsOf: outcome.stdoutFile, encoding: .utf8)) ?? ""
            let lines = output.split(separator: "\n").map(String.init)
            try #require(lines.count > 3, "\(output)")
            #expect(lines[0] == (try await Self.system(["id", "-u", "nobody"])))
            #expect(lines[1] == (try await Self.system(["id", "-g", "nobody"])))
            #expect(Set(lines[2].split(separator: " ")) == Set(try await Self.system(["id", "-G", "nobody"]).split(separator: " ")), "exactly nobody's groups")

            var env: [String: String] = [:]
            for line in lines.dropFirst(3) {
                guard let eq = line.firstIndex(of: "=") else { continue }
                env[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            #expect(!output.contains(secret.name) && !output.contains(secret.value), "the agent's secret must not reach the step")
            #expect(env["HOME"] == entry[5])
            #expect(env["USER"] == "nobody" && env["LOGNAME"] == "nobody")
            #expect(env["SHELL"] == entry[6])
            #expect(env["PATH"] == UserAccount.safePath)
            #expect(env["TENDER_INVOCATION_ID"] == "inv-1", "what the agent means the step to have still arrives")
            // Nothing else: only what the shell itself adds.
            let allowed: Set<String> = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TENDER_INVOCATION_ID", "PWD", "OLDPWD", "SHLVL", "_"]
            #expect(Set(env.keys).subtracting(allowed).isEmpty, "unexpected variables: \(Set(env.keys).subtracting(allowed).sorted())")
        }
    }

    @Test(.enabled(if: getuid() == 0, "running a step as another user needs root"))
    func aStepAsAnotherUserStartsInItsHomeUnlessTold() async throws {
        try await withWorkDir { dir in
            let runner = ScriptProcess()
            // root's home exists: the step starts there.
            let root = try UserAccount.lookUp("root")
            let home = try await runner.run(RunShellScriptInputs(runCommand: ["pwd"]), workDirectory: dir, account: root)
            #expect((try? String(contentsOf: home.stdoutFile, encoding: .utf8)) == root.home + "\n")
            // A named directory wins.
            let nobody = try UserAccount.lookUp("nobody")
            let told = try await runner.run(RunShellScriptInputs(runCommand: ["pwd"], workingDirectory: "/tmp"), workDirectory: dir, account: nobody)
            #expect((try? String(contentsOf: told.stdoutFile, encoding: .utf8)) == "/tmp\n")
            // Without a home (nobody's is /nonexistent), where the agent is.
            if nobody.defaultWorkingDirectory == nil {
                let agentDirectory = FileManager.default.currentDirectoryPath
                let stays = try await runner.run(RunShellScriptInputs(runCommand: ["pwd -P"]), workDirectory: dir, account: nobody)
                let expected = URL(fileURLWithPath: agentDirectory).resolvingSymlinksInPath().path
                #expect((try? String(contentsOf: stays.stdoutFile, encoding: .utf8)) == expected + "\n")
            }
        }
    }
}

/// The identity switch goes through `setpriv` in a fresh process, never through
/// `setuid` in the agent's forked child (which could hang before `exec`).
@Suite("Identity switch")
struct IdentitySwitchTests {
    static let nobody = UserAccount(name: "nobody", uid: 65534, gid: 65534, groups: [65534, 100], home: "/nonexistent", shell: "/usr/sbin/nologin")

    @Test func setprivGetsExactlyTheUsersIdsAndGroupsThenTheCommand() {
        let launch = IdentitySwitch(setprivPath: "/usr/bin/setpriv").launch(["/bin/sh", "/tmp/x/script"], as: Self.nobody)
        #expect(launch.executable == "/usr/bin/setpriv")
        #expect(launch.arguments == ["--reuid=65534", "--regid=65534", "--groups=65534,100", "--inh-caps=-all", "--", "/bin/sh", "/tmp/x/script"])
    }

    @Test func aUserWithNoGroupsGetsNoneOfTheAgents() {
        var account = Self.nobody
        account.groups = []
        let launch = IdentitySwitch(setprivPath: "/usr/bin/setpriv").launch(["/bin/sh", "s"], as: account)
        #expect(launch.arguments.contains("--clear-groups"))
        #expect(!launch.arguments.contains { $0.hasPrefix("--groups") })
    }

    @Test func withoutSetprivTheErrorSaysWhatToInstall() {
        let error = #expect(throws: TenderError.self) { try IdentitySwitch.locate(candidates: ["/nonexistent/setpriv"]) }
        #expect(error?.message.contains("setpriv (util-linux)") == true, "\(String(describing: error))")
        #expect((try? IdentitySwitch.locate()) != nil, "this machine has util-linux's setpriv")
    }
}
