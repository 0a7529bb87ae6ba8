import ArgumentParser
import Controller
import Foundation
import Logging
import TenderAPI
import TenderWire

@main
struct TenderController: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tender-controller",
        abstract: "The Tender controller: holds the fleet's state and serves agents and operators.",
        version: TenderVersion.current,
        subcommands: [Serve.self, Fingerprint.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the controller in the foreground until SIGTERM or SIGINT.")

    @Option(help: "Holds the SQLite database, the CA and server key material, the admin token and blobs.")
    var dataDir = "/var/lib/tender"

    @Option(help: "Where agents connect (TLS; registration and the mutual-TLS channel).")
    var agentListen = "0.0.0.0:8443"

    @Option(help: "Where operators connect (HTTPS API).")
    var apiListen = "127.0.0.1:8444"

    @Option(help: "postgres://user:pass@host:port/db to use PostgreSQL instead of the embedded SQLite file.")
    var database: String?

    @Option(name: .customLong("name"), help: "DNS name or IP for the server certificate (repeatable; default: hostname, localhost, 127.0.0.1 and the host's other IP addresses).")
    var names: [String] = []

    @Option(help: "Seconds between agent heartbeats.")
    var heartbeatInterval = ControllerConfiguration().heartbeatInterval

    @Option(help: "Seconds of silence after which an agent is shown ConnectionLost.")
    var heartbeatTimeout = ControllerConfiguration().heartbeatTimeout

    @Option(help: ArgumentHelp("Seconds between looks for instances deregistered on other replicas sharing the database (their channels held here are then closed); a deregistration made on this controller takes effect at once.", valueName: "seconds"))
    var deregistrationCheckInterval = ControllerConfiguration().deregistrationCheckInterval

    @Option(help: "Lifetime of agents' client certificates (e.g. 365d, 90d); agents renew when a third is left.")
    var clientCertificateValidity = "365d"

    @Option(help: "Seconds a started invocation may go without a result after its steps' timeouts have all passed; then it ends TimedOut.")
    var executionDeadlineMargin = Int(ControllerConfiguration().executionDeadlineMargin)

    @Option(help: "Seconds running invocations of a cancelled command have to confirm the cancel; then they end Cancelled.")
    var cancelGrace = Int(ControllerConfiguration().cancelGrace)

    @Option(help: "The most output kept per stream of one invocation, in bytes; the rest is dropped with a note.")
    var maxOutputBytes = ControllerConfiguration().maxOutputBytes

    @OptionGroup(title: "Listeners")
    var listeners: ListenerOptions

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    func validate() throws {
        do {
            _ = try HostPort(parsing: agentListen)
            _ = try HostPort(parsing: apiListen)
        } catch let error as TenderError {
            throw ValidationError(error.message)
        }
        let validity: Int
        do {
            validity = try DurationText.seconds(clientCertificateValidity)
        } catch let error as TenderError {
            throw ValidationError("--client-certificate-validity: \(error.message)")
        }
        guard validity >= 10, validity <= 825 * 86400 else {
            throw ValidationError("--client-certificate-validity must be between 10s and 825d")
        }
        let checkRange = PresenceMonitor.deregistrationCheckSecondsRange
        guard checkRange.contains(deregistrationCheckInterval) else {
            throw ValidationError("--deregistration-check-interval must be between \(checkRange.lowerBound) and \(Int(checkRange.upperBound)) seconds, got \(deregistrationCheckInterval)")
        }
        guard heartbeatInterval > 0, heartbeatTimeout > heartbeatInterval, heartbeatTimeout < 30 else {
            throw ValidationError("--heartbeat-timeout must be larger than --heartbeat-interval and below 30 s (the idle limit of agent connections), and both positive")
        }
    }

    /// Checks the limits of `serve`'s Run Command options.
    func validateRunCommandLimits() throws {
        guard (1...86_400).contains(executionDeadlineMargin) else {
            throw ValidationError("--execution-deadline-margin must be between 1 and 86400 seconds, got \(executionDeadlineMargin)")
        }
        guard (1...86_400).contains(cancelGrace) else {
            throw ValidationError("--cancel-grace must be between 1 and 86400 seconds, got \(cancelGrace)")
        }
        guard (1024...(1 << 40)).contains(maxOutputBytes) else {
            throw ValidationError("--max-output-bytes must be between 1024 and 1099511627776, got \(maxOutputBytes)")
        }
    }

    func run() async throws {
        try validateRunCommandLimits()
        let level = LogSetup.bootstrap(level: logLevel)
        let logger = LogSetup.logger("tender-controller", level: level)
        var configuration = ControllerConfiguration()
        configuration.dataDirectory = URL(fileURLWithPath: dataDir).standardizedFileURL
        configuration.agentListen = try HostPort(parsing: agentListen)
        configuration.apiListen = try HostPort(parsing: apiListen)
        configuration.databaseURL = database
        configuration.names = names
        configuration.heartbeatInterval = heartbeatInterval
        configuration.heartbeatTimeout = heartbeatTimeout
        configuration.deregistrationCheckInterval = deregistrationCheckInterval
        configuration.clientCertificateValidity = TimeInterval(try DurationText.seconds(clientCertificateValidity))
        listeners.apply(to: &configuration)
        if let warning = OpenFileLimit.raise(for: configuration) { logger.warning("\(warning)") }
        configuration.executionDeadlineMargin = TimeInterval(executionDeadlineMargin)
        configuration.cancelGrace = TimeInterval(cancelGrace)
        configuration.maxOutputBytes = maxOutputBytes
        do {
            try await Controller(configuration: configuration, logger: logger).run()
        } catch let error as TenderError {
            FileHandle.standardError.write(Data("tender-controller: \(error.message)\n".utf8))
            throw ExitCode(1)
        } catch {
            FileHandle.standardError.write(Data("tender-controller: cannot run: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Fingerprint: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the fleet CA's fingerprint (for tender-agent register --ca-fingerprint).")

    @Option(help: "The controller's data dir.")
    var dataDir = "/var/lib/tender"

    func run() throws {
        let url = URL(fileURLWithPath: dataDir).appendingPathComponent("ca.pem")
        guard let pem = try? String(contentsOf: url, encoding: .utf8) else {
            throw ValidationError("no CA at \(url.path); start the controller once to create it")
        }
        print(try CertificateTools.fingerprint(try .init(pemEncoded: pem)))
    }
}
