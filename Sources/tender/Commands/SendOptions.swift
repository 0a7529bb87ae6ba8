import ArgumentParser
import Foundation
import TenderAPI
import TenderDocuments
import TenderWire

/// What every send of work to instances takes (`command send`, `patch scan|install`):
/// where it goes, how fast, and whether to wait for its end.
struct SendOptions: ParsableArguments {
    @Option(help: "ids=mi-a,mi-b | tag:KEY=V1,V2 | tag-key=KEY | * (repeatable; all must match).") var target: [String] = []
    @Option(help: "How many instances run it at once: a count or a percentage (default \(SendCommandRequest.defaultMaxConcurrency)).") var maxConcurrency: String?
    @Option(help: "How many errors stop sending: a count or a percentage (default \(SendCommandRequest.defaultMaxErrors)).") var maxErrors: String?
    @Option(help: "Delivery timeout in seconds, \(SendCommandRequest.timeoutRange.lowerBound) to \(SendCommandRequest.timeoutRange.upperBound) (default \(SendCommandRequest.defaultTimeoutSeconds)).") var timeout: Int?
    @Option(help: "Free text (up to 100 characters).") var comment: String?
    @Flag(help: "Wait until it finishes, showing progress on stderr; exit 1 unless it ends Success.") var wait = false

    /// The checks the CLI can make itself: targets and rates.
    func check() throws {
        guard !target.isEmpty else { throw CLIError.usage("give at least one --target") }
        for text in target { _ = try TargetFilter(parsing: text) }
        if let maxConcurrency { _ = try RateLimit(parsing: maxConcurrency, what: "--max-concurrency") }
        if let maxErrors { _ = try RateLimit(parsing: maxErrors, what: "--max-errors") }
    }

    /// The request for `document`, checked.
    func request(document: String, version: Int? = nil, parameters: ParameterValues?) throws -> SendCommandRequest {
        try check()
        return SendCommandRequest(documentName: document, documentVersion: version, parameters: parameters, targets: target,
                                  maxConcurrency: maxConcurrency, maxErrors: maxErrors, timeoutSeconds: timeout, comment: comment)
    }

    /// Sends `request` and prints it (`sent` for people), or, with `--wait`, waits and
    /// prints how it ended, failing unless it ended Success.
    func deliver(_ request: SendCommandRequest, globals: GlobalOptions, noun: String, sent describe: (CommandInfo) -> String) async throws {
        let client = try globals.client()
        let sent = try await client.post("/v1/commands", body: request, as: CommandInfo.self)
        guard wait else {
            if globals.output == .json { return try Output.json(sent) }
            Output.line(describe(sent))
            return
        }
        let final = try await CommandCommand.Send.waitForEnd(sent.commandId, client: client)
        if globals.output == .json { try Output.json(final) } else { CommandCommand.Show.printTable(final) }
        if final.status != .success { throw CLIError.failed("\(noun) \(final.commandId) ended \(final.status.rawValue) (\(final.statusDetails))") }
    }
}
