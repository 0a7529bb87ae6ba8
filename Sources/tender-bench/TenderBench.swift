import ArgumentParser
import Bench
import Foundation
import TenderWire

@main
struct TenderBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tender-bench",
        abstract: "Fleet-scale benchmarks: a real controller process and simulated agents over real mutual TLS.",
        discussion: "Build with `swift build -c release --static-swift-stdlib` and run .build/release/tender-bench; see the README's Performance section.",
        subcommands: [Register.self, Fanout.self, Storm.self, AgentFootprint.self, Hostile.self]
    )
}

struct CommonOptions: ParsableArguments {
    @Option(help: "Directory with tender-controller and tender-agent (default: next to tender-bench).")
    var binDir: String?

    @Option(name: .shortAndLong, help: "text or json (one JSON line).")
    var output: OutputFormat = .text

    @Flag(help: "Keep the work dir (controller data and logs) afterwards.")
    var keep = false

    @Flag(name: .shortAndLong, help: "No progress lines on stderr.")
    var quiet = false

    func options(agents: Int) -> BenchOptions {
        var options = BenchOptions(agents: agents)
        options.binDirectory = binDir
        options.keepWorkDirectory = keep
        options.verbose = !quiet
        return options
    }
}

enum OutputFormat: String, ExpressibleByArgument {
    case text, json
}

enum Database: String, ExpressibleByArgument {
    case sqlite, postgres
}

struct FleetOptions: ParsableArguments {
    @Option(help: "Simulated agents.")
    var agents = 1000

    @Option(help: "Registrations in flight at once while setting up.")
    var registerWidth = 64

    @Option(help: "Channel handshakes in flight at once while connecting the fleet.")
    var connectWidth = 256

    func validate() throws {
        guard agents >= 1, agents <= 100_000 else { throw ValidationError("--agents must be between 1 and 100000") }
        guard registerWidth >= 1, registerWidth <= 1024 else { throw ValidationError("--register-width must be between 1 and 1024") }
        guard connectWidth >= 1, connectWidth <= 4096 else { throw ValidationError("--connect-width must be between 1 and 4096") }
    }

    /// The bench options for a fleet scenario: the common ones and the fleet's size and widths.
    func options(_ common: CommonOptions) -> BenchOptions {
        var options = common.options(agents: agents)
        options.registerWidth = registerWidth
        options.connectWidth = connectWidth
        return options
    }
}

/// Prints a result as one JSON line, or as aligned `key: value` lines.
func emit<T: Encodable>(_ result: T, format: OutputFormat) throws {
    let data = try JSON.encoder().encode(result)
    switch format {
    case .json:
        print(String(decoding: data, as: UTF8.self))
    case .text:
        let object = (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        let width = object.keys.map(\.count).max() ?? 0
        for key in object.keys.sorted() {
            let value = object[key].map { $0 is NSNull ? "null" : "\($0)" } ?? "null"
            print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }
}

/// Runs a scenario and turns failures into a message and exit code 1.
func runScenario<T: Encodable>(format: OutputFormat, _ body: () async throws -> T) async throws {
    do {
        try emit(try await body(), format: format)
    } catch let error as TenderError {
        FileHandle.standardError.write(Data("tender-bench: \(error.message)\n".utf8))
        throw ExitCode(1)
    }
}

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "N registrations with real CSRs; prints agents, seconds, perSecond.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        let options = fleet.options(common)
        try await runScenario(format: common.output) { try await RegisterScenario(options: options).run() }
    }
}

struct Fanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A no-op command to N connected agents, timed until every result is stored.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var fleet: FleetOptions

    @Option(help: "sqlite (embedded) or postgres (needs --postgres-url or TENDER_BENCH_POSTGRES_URL).")
    var database: Database = .sqlite

    @Option(help: "postgres://user@host:port/db for --database postgres: an empty, throwaway database (scripts/bench starts one).")
    var postgresURL: String?

    @Option(help: "MaxConcurrency of the command (e.g. 100, 10%); default: all at once.")
    var maxConcurrency: String?

    func validate() throws {
        if database == .postgres, postgresURL ?? ProcessInfo.processInfo.environment["TENDER_BENCH_POSTGRES_URL"] == nil {
            throw ValidationError("--database postgres needs --postgres-url or TENDER_BENCH_POSTGRES_URL")
        }
    }

    func run() async throws {
        var options = fleet.options(common)
        if database == .postgres { options.database = postgresURL ?? ProcessInfo.processInfo.environment["TENDER_BENCH_POSTGRES_URL"] }
        let maxConcurrency = self.maxConcurrency
        try await runScenario(format: common.output) { try await FanoutScenario(options: options, maxConcurrency: maxConcurrency).run() }
    }
}

struct Storm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restart the controller with N agents connected; time until they are all Online again.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        let options = fleet.options(common)
        try await runScenario(format: common.output) { try await StormScenario(options: options).run() }
    }
}

struct AgentFootprint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The real tender-agent binary: idle RSS and CPU, peak RSS while streaming output and during patch scans, binary size.")
    @OptionGroup var common: CommonOptions

    @Option(help: "Seconds to measure the idle agent.")
    var idleSeconds = 60

    @Option(help: "Megabytes of output the measured command prints.")
    var outputMB = 100

    @Option(help: "Packages installed in the test root a patch scan is measured on (0: no scan).")
    var scanPackages = 300

    @Flag(inversion: .prefixedNo, help: "Also measure a patch scan of a copy of this host's dpkg database and apt lists (read-only).")
    var hostScan = true

    func validate() throws {
        guard idleSeconds >= 1, idleSeconds <= 3600 else { throw ValidationError("--idle-seconds must be between 1 and 3600") }
        guard outputMB >= 1, outputMB <= 1024 else { throw ValidationError("--output-mb must be between 1 and 1024") }
        guard scanPackages >= 0, scanPackages <= 5000 else { throw ValidationError("--scan-packages must be between 0 and 5000") }
    }

    func run() async throws {
        let options = common.options(agents: 1)
        let idle = idleSeconds, output = outputMB, scan = scanPackages, host = hostScan
        try await runScenario(format: common.output) {
            try await AgentFootprintScenario(options: options, idleSeconds: idle, outputMB: output, scanPackages: scan, hostScan: host).run()
        }
    }
}

struct Hostile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One agent floods the controller without reading, next to well-behaved ones; reports memory, health and whether it was cut off.")
    @OptionGroup var common: CommonOptions

    @Option(help: "Well-behaved agents beside the hostile one.")
    var agents = 5

    @Option(help: "pings (each asks for a pong), messages (well-formed, each answered) or garbage (malformed JSON).")
    var flood = "pings"

    @Option(help: "The longest the flood goes on if the controller does not close it, in seconds.")
    var seconds = 30

    func validate() throws {
        guard agents >= 1, agents <= 1000 else { throw ValidationError("--agents must be between 1 and 1000") }
        guard ["pings", "messages", "garbage"].contains(flood) else { throw ValidationError("--flood must be pings, messages or garbage") }
        guard seconds >= 1, seconds <= 600 else { throw ValidationError("--seconds must be between 1 and 600") }
    }

    func run() async throws {
        let options = common.options(agents: agents)
        let flood = self.flood, seconds = self.seconds
        try await runScenario(format: common.output) { try await HostileScenario(options: options, kind: flood, seconds: seconds).run() }
    }
}
