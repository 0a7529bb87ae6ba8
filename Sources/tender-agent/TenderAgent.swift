import Agent
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SystemPackage
import TenderWire

@main
struct TenderAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tender-agent",
        abstract: "The Tender agent: registers once, then runs what the controller sends.",
        version: TenderVersion.current,
        subcommands: [Register.self, Run.self, Status.self]
    )

    static func fail(_ message: String, code: Int32 = 1) -> ExitCode {
        _ = try? FileDescriptor.standardError.writeAll("tender-agent: \(message)\n".utf8)
        return ExitCode(code)
    }
}

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register this host with a controller using an activation.")

    @Option(help: "The controller's agent listener, https://HOST:PORT.")
    var controller: String
    @Option(help: "Activation id from `tender activation create`.")
    var activationId: String
    @Option(help: "Activation code (shown once when the activation was created). Prefer --activation-code-file or TENDER_ACTIVATION_CODE: a command line is visible to other users.")
    var activationCode: String?
    @Option(help: "File holding the activation code.")
    var activationCodeFile: String?
    @Option(help: "sha256:HEX of the controller's CA; registration aborts if it differs.")
    var caFingerprint: String
    @Option(help: "Where the identity is kept.")
    var stateDir = AgentStateDirectory.defaultPath
    @Option(help: "Instance name (default: the activation's default name, else the hostname).")
    var name: String?
    @Flag(help: "Register again even if this state dir already holds an identity.")
    var force = false
    @Option(name: [.short, .customLong("output")], help: "table or json.")
    var output = "table"
    @Option(help: "Log level.")
    var logLevel: String?

    func validate() throws {
        guard ["table", "json"].contains(output) else { throw ValidationError("--output must be table or json") }
    }

    /// From the flag, the file or the environment, in that order.
    func code() throws -> String {
        if let activationCode { return activationCode }
        if let activationCodeFile {
            guard let text = try? String(contentsOfFile: activationCodeFile, encoding: .utf8) else {
                throw ValidationError("cannot read --activation-code-file \(activationCodeFile)")
            }
            return text.trimmingWhitespace()
        }
        if let env = ProcessInfo.processInfo.environment["TENDER_ACTIVATION_CODE"], !env.isEmpty { return env }
        throw ValidationError("give the activation code with --activation-code, --activation-code-file or TENDER_ACTIVATION_CODE")
    }

    func run() async throws {
        AgentRuntime.useOneThread()
        let activationCode = try code()
        let level = LogSetup.bootstrap(level: logLevel ?? "warning")
        let registrar = Registrar(state: AgentStateDirectory(stateDir), logger: LogSetup.logger("tender-agent", level: level))
        do {
            let identity = try await registrar.register(.init(
                controller: try ControllerURL(parsing: controller), activationID: activationId, activationCode: activationCode,
                caFingerprint: caFingerprint, name: name, force: force
            ))
            if output == "json" {
                print(String(decoding: try JSON.encoder().encode(["instanceId": identity.instanceId]), as: UTF8.self))
            } else {
                print(identity.instanceId)
            }
        } catch let error as TenderError {
            throw TenderAgent.fail(error.message, code: error.code == .validation ? 2 : 1)
        } catch {
            throw TenderAgent.fail("registration failed: \(error)")
        }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the agent in the foreground (systemd-friendly).")

    @Option(help: "Where the identity is kept.")
    var stateDir = AgentStateDirectory.defaultPath
    @Option(help: "Root that patch operations act on (an image or test sandbox).")
    var packageRoot = "/"
    @Option(help: "How many invocations run at once; the rest wait their turn.")
    var maxConcurrentInvocations = AgentWorker.defaultMaxConcurrent
    @Option(help: "What a script's exit code 194 runs (reboot, then the document continues); an absolute path and its arguments.")
    var rebootCommand = AgentWorker.defaultRebootCommand.joined(separator: " ")

    func validate() throws {
        guard (1...256).contains(maxConcurrentInvocations) else { throw ValidationError("--max-concurrent-invocations must be 1 to 256") }
        guard rebootCommand.hasPrefix("/") else { throw ValidationError("--reboot-command must start with an absolute path") }
    }
    @Option(help: "Log level.")
    var logLevel: String?

    func run() async throws {
        AgentRuntime.boundAllocator()
        AgentRuntime.useOneThread()
        let level = LogSetup.bootstrap(level: logLevel)
        let runner = AgentRunner(state: AgentStateDirectory(stateDir), logger: LogSetup.logger("tender-agent", level: level),
                                 maxConcurrentInvocations: maxConcurrentInvocations,
                                 rebootCommand: rebootCommand.split(separator: " ").map(String.init),
                                 runners: .standard(packageRoot: packageRoot), packageRoot: packageRoot)
        let (signals, sources) = SignalHandling.install()
        defer { withExtendedLifetime(sources) {} }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runner.run() }
                group.addTask {
                    for await _ in signals { break }
                    throw CancellationError()
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch let error as AgentRunner.Deregistered {
            throw TenderAgent.fail("\(error.message); this agent stops. To manage this host again, register it with a new activation (tender-agent register --force ...)", code: 3)
        } catch let error as AgentRunner.CertificateExpired {
            throw TenderAgent.fail(error.message, code: 3)
        } catch is CancellationError {
            return
        } catch let error as TenderError {
            throw TenderAgent.fail(error.message)
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show this agent's identity, controller and connection state.")

    @Option(help: "Where the identity is kept.")
    var stateDir = AgentStateDirectory.defaultPath
    @Option(name: [.short, .customLong("output")], help: "table or json.")
    var output = "table"

    func run() throws {
        let state = AgentStateDirectory(stateDir)
        let identity: AgentIdentity
        do {
            identity = try state.loadIdentity()
        } catch let error as TenderError {
            throw TenderAgent.fail(error.message)
        }
        var connection = "not running"
        var since: Date?
        var lastError: String?
        if let status = state.loadStatus(), kill(status.pid, 0) == 0 {
            connection = status.state
            since = status.since
            lastError = status.lastError
        }
        if output == "json" {
            struct Out: Encodable {
                var instanceId, controller, caFingerprint, connection: String
                var registeredAt: Date
                var since: Date?
                var lastError: String?
            }
            let out = Out(instanceId: identity.instanceId, controller: identity.controller, caFingerprint: identity.caFingerprint, connection: connection, registeredAt: identity.registeredAt, since: since, lastError: lastError)
            print(String(decoding: try JSON.encoder(pretty: true).encode(out), as: UTF8.self))
        } else {
            print("Instance:    \(identity.instanceId)")
            print("Controller:  \(identity.controller)")
            print("CA:          \(identity.caFingerprint)")
            print("Registered:  \(ISOTime.format(identity.registeredAt))")
            print("Connection:  \(connection)\(since.map { " since \(ISOTime.format($0))" } ?? "")")
            if let lastError { print("Last error:  \(lastError)") }
        }
    }
}
