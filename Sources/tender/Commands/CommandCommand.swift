import ArgumentParser
import Foundation
import TenderAPI
import TenderDocuments
import TenderWire

struct CommandCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "command",
        abstract: "Run Command: run a document on instances and follow the results.",
        subcommands: [Send.self, List.self, Show.self, Cancel.self, FullOutput.self]
    )

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a command to every instance the targets match.")
        @OptionGroup var globals: GlobalOptions
        @Option(help: "Document name, e.g. Tender-RunShellScript.") var document: String
        @Option(help: "A version of a custom document (default: the latest).") var documentVersion: Int?
        @Option(help: "KEY=VALUE (repeat a key for a StringList).") var param: [String] = []
        @Option(help: "Parameters as a JSON object, e.g. '{\"commands\":[\"uptime\"]}'.") var paramsJson: String?
        @OptionGroup var options: SendOptions

        func run() async throws {
            try options.check()
            let parameters = try ParameterInput.values(params: param, paramsJSON: paramsJson)
            let request = try options.request(document: document, version: documentVersion, parameters: parameters)
            try await options.deliver(request, globals: globals, noun: "command") { sent in
                "Command \(sent.commandId): \(sent.status.rawValue), \(sent.targetCount) targets"
            }
        }

        /// Polls until the command finishes, keeping one progress line on stderr.
        static func waitForEnd(_ id: String, client: APIClient) async throws -> CommandInfo {
            var last = ""
            while true {
                let info = try await client.get("/v1/commands/\(PathComponent.escape(id))", as: CommandInfo.self)
                let line = "\(info.commandId): \(info.status.rawValue)  \(info.completedCount)/\(info.targetCount) done, \(info.errorCount) errors"
                if line != last {
                    // Padded so a shorter line fully covers the one before it.
                    let padding = String(repeating: " ", count: max(0, last.count - line.count))
                    FileHandle.standardError.write(Data(("\r" + DisplayText.escaped(line) + padding).utf8))
                    last = line
                }
                if info.status.isTerminal {
                    FileHandle.standardError.write(Data("\n".utf8))
                    return info
                }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent commands, newest first.")
        @OptionGroup var globals: GlobalOptions
        @Option(help: "How many (default 50).") var limit: Int = 50

        func run() async throws {
            let list = try await globals.client().get("/v1/commands", query: [("limit", String(limit))], as: [CommandInfo].self)
            if globals.output == .json { return try Output.json(list) }
            Output.table(["ID", "DOCUMENT", "STATUS", "DONE", "ERRORS", "CREATED", "COMMENT"], list.map {
                [$0.commandId, $0.documentName, $0.status.rawValue, "\($0.completedCount)/\($0.targetCount)", String($0.errorCount), Output.time($0.createdAt), $0.comment ?? ""]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a command and its invocations.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Command id.") var id: String

        func run() async throws {
            let info = try await globals.client().get("/v1/commands/\(PathComponent.escape(id))", as: CommandInfo.self)
            if globals.output == .json { return try Output.json(info) }
            Self.printTable(info)
        }

        static func printTable(_ c: CommandInfo) {
            Output.fields([
                ("Command", c.commandId), ("Document", "\(c.documentName)\(c.documentVersion > 0 ? " v\(c.documentVersion)" : "")"),
                ("Status", "\(c.status.rawValue) (\(c.statusDetails))"), ("Done", "\(c.completedCount) of \(c.targetCount), \(c.errorCount) errors, \(c.deliveryTimedOutCount) delivery timeouts"),
                ("Created", Output.time(c.createdAt)), ("Finished", Output.time(c.finishedAt)),
            ])
            Output.table(["INSTANCE", "STATUS", "DETAILS", "CODE", "OUTPUT"], (c.invocations ?? []).map {
                [$0.instanceId, $0.status.rawValue, $0.statusDetails, $0.responseCode.map(String.init) ?? "-",
                 Self.firstLine($0.stdout)]
            })
        }

        /// The start of a script's output for the table: its first line, at most 60
        /// characters (escaped by the table, so `\e[31m` reads as text).
        static func firstLine(_ stdout: String) -> String {
            let scalars = stdout.unicodeScalars
            let end = scalars.firstIndex(of: "\n") ?? scalars.endIndex
            return String(String(scalars[scalars.startIndex..<end]).prefix(60))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a command: pending invocations are dropped, running ones killed.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Command id.") var id: String

        func run() async throws {
            let info = try await globals.client().post("/v1/commands/\(PathComponent.escape(id))/cancel", body: [String: String](), as: CommandInfo.self)
            if globals.output == .json { try Output.json(info) } else { Output.line("Command \(info.commandId): \(info.status.rawValue)") }
        }
    }

    struct FullOutput: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "output",
            abstract: "Print the full output of one invocation, byte for byte (escaped on a terminal, see --raw).",
            discussion: """
                Byte for byte when standard output is a file or a pipe. On a terminal, control \
                characters (escape sequences) are shown as text instead (ESC as \\e, others as \
                \\u{HEX}; line feeds and tabs kept), so a script's output cannot drive the \
                terminal; pass --raw to send them to the terminal anyway.
                """
        )
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Command id.") var id: String
        @Option(help: "The instance (mi-...).") var instance: String
        @Flag(help: "Standard error instead of standard output.") var stderr = false
        @Flag(help: "Byte for byte even when standard output is a terminal.") var raw = false

        func run() async throws {
            let path = "/v1/commands/\(PathComponent.escape(id))/output"
            let query = [("instance", instance), ("stream", stderr ? "stderr" : "stdout")]
            if raw || isatty(STDOUT_FILENO) == 0 {
                // Streamed: an output of any size passes through in pieces.
                try await globals.client().download(path, query: query) { piece in
                    FileHandle.standardOutput.write(Data(buffer: piece))
                }
            } else {
                // For a person's eyes: read whole (up to the answer limit) so escaping
                // never splits a character between pieces.
                let data = try await globals.client().send(.GET, path, query: query, body: nil)
                FileHandle.standardOutput.write(Data(DisplayText.escaped(String(decoding: data, as: UTF8.self), multiLine: true).utf8))
            }
        }
    }
}
