import ArgumentParser
import Foundation

/// The global options, each with its environment variable.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Controller API URL (env TENDER_ADDR).")
    var addr: String?

    @Option(help: "API token (env TENDER_TOKEN).")
    var token: String?

    @Option(help: "File holding the API token, e.g. the controller's admin.token (env TENDER_TOKEN_FILE).")
    var tokenFile: String?

    @Option(help: "CA certificate that signed the controller's certificate, e.g. DATA_DIR/ca.pem (env TENDER_CA_CERT).")
    var caCert: String?

    @Option(name: [.short, .customLong("output")], help: "table or json.")
    var output: OutputFormat = .table

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    var resolvedAddress: String { addr ?? environment["TENDER_ADDR"] ?? "https://127.0.0.1:8444" }

    func resolvedToken() throws -> String {
        if let token, !token.isEmpty { return token }
        if let file = tokenFile ?? (environment["TENDER_TOKEN"] == nil ? environment["TENDER_TOKEN_FILE"] : nil) {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIError.usage("cannot read the token file \(file)")
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw CLIError.usage("the token file \(file) is empty") }
            return trimmed
        }
        if let env = environment["TENDER_TOKEN"], !env.isEmpty { return env }
        throw CLIError.usage("no API token: pass --token, --token-file, or set TENDER_TOKEN (the controller writes an admin token to DATA_DIR/admin.token)")
    }

    var resolvedCACert: String? { caCert ?? environment["TENDER_CA_CERT"] }

    func client() throws -> APIClient {
        try APIClient(address: resolvedAddress, token: resolvedToken(), caCertPath: resolvedCACert)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}
