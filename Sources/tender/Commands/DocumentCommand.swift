import ArgumentParser
import Foundation
import TenderAPI
import TenderDocuments
import TenderWire

struct DocumentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "document",
        abstract: "Command documents: what Run Command runs.",
        subcommands: [Create.self, Update.self, List.self, Show.self, Delete.self]
    )

    /// Reads a document file, choosing the format from its extension.
    static func request(file: String, name: String?) throws -> DocumentRequest {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError.usage("cannot read \(file)")
        }
        guard data.count <= DocumentParser.maxTextBytes else {
            throw CLIError.usage("\(file) is larger than \(DocumentParser.maxTextBytes / 1024) KiB")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError.usage("\(file) is not UTF-8 text") }
        return DocumentRequest(name: name, content: text, format: DocumentFormat(fileName: file).rawValue)
    }

    /// The file name without its extension: `restart-nginx.yaml` → `restart-nginx`.
    static func defaultName(file: String) -> String {
        let base = URL(fileURLWithPath: file).lastPathComponent
        return base.split(separator: ".").first.map(String.init) ?? base
    }

    static func printSummary(_ d: DocumentInfo, verb: String) {
        Output.line("\(verb) \(d.name) version \(d.version) (\(d.parameters.count) parameters, \(d.stepCount) steps)")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a document from a YAML or JSON file; it is validated first.")
        @OptionGroup var globals: GlobalOptions
        @Option(help: "The document file (.yaml, .yml or .json).") var file: String
        @Option(help: "Its name (default: the file name without extension).") var name: String?

        func run() async throws {
            let request = try DocumentCommand.request(file: file, name: name ?? DocumentCommand.defaultName(file: file))
            let created = try await globals.client().post("/v1/documents", body: request, as: DocumentInfo.self)
            if globals.output == .json { try Output.json(created) } else { DocumentCommand.printSummary(created, verb: "Created") }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a new version of a document; commands keep the version they ran.")
        @OptionGroup var globals: GlobalOptions
        @Option(help: "The document file (.yaml, .yml or .json).") var file: String
        @Option(help: "Its name (default: the file name without extension).") var name: String?

        func run() async throws {
            let name = self.name ?? DocumentCommand.defaultName(file: file)
            let request = try DocumentCommand.request(file: file, name: name)
            let updated = try await globals.client().put("/v1/documents/\(PathComponent.escape(name))", body: request, as: DocumentInfo.self)
            if globals.output == .json { try Output.json(updated) } else { DocumentCommand.printSummary(updated, verb: "Updated") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List built-in and custom documents.")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let list = try await globals.client().get("/v1/documents", as: [DocumentInfo].self)
            if globals.output == .json { return try Output.json(list) }
            Output.table(["NAME", "VERSION", "PARAMETERS", "DESCRIPTION"], list.map {
                [$0.name, $0.builtin ? "built-in" : String($0.version), $0.parameters.map(\.name).joined(separator: ","), $0.description ?? ""]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a document and its text.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Document name.") var name: String
        @Option(help: "A version of a custom document (default: the latest).") var version: Int?

        func run() async throws {
            let query = version.map { [("version", String($0))] } ?? []
            let d = try await globals.client().get("/v1/documents/\(PathComponent.escape(name))", query: query, as: DocumentInfo.self)
            if globals.output == .json { return try Output.json(d) }
            Output.fields([
                ("Name", d.name), ("Version", d.builtin ? "built-in" : String(d.version)), ("Description", d.description ?? "-"),
                ("Created", Output.time(d.createdAt)), ("Steps", String(d.stepCount)),
            ])
            Output.line("Parameters:")
            Output.table(["  NAME", "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"], d.parameters.map { p in
                ["  " + p.name, p.type, p.required ? "yes" : "no", p.defaultValue.map(Self.text) ?? "-", p.description ?? ""]
            })
            if let content = d.content {
                Output.line("")
                Output.text(content)
            }
        }

        static func text(_ value: ParameterValue) -> String {
            switch value {
            case .string(let s): return s.isEmpty ? "\"\"" : s
            case .list(let items): return "[" + items.joined(separator: ", ") + "]"
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a custom document (the commands that ran it keep their record).")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Document name.") var name: String

        func run() async throws {
            try await globals.client().delete("/v1/documents/\(PathComponent.escape(name))")
            if globals.output == .json { try Output.json(["name": name, "status": "deleted"]) } else { Output.line("Deleted document \(name)") }
        }
    }
}
