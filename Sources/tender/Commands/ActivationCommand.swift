import ArgumentParser
import Foundation
import TenderAPI

struct ActivationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activation",
        abstract: "One-time credentials for registering servers.",
        subcommands: [Create.self, List.self, Show.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an activation; its code is shown only now.")
        @OptionGroup var globals: GlobalOptions
        @Option(help: "How many servers may register with it (1-1000).")
        var limit: Int = 1
        @Option(help: "How long it accepts registrations: 30m, 24h, 7d (max 30d).")
        var expires = "24h"
        @Option(help: "Default name for instances registered with it.")
        var name: String?
        @Option(help: "Tag copied to every instance registered with it (K=V, repeatable).")
        var tag: [String] = []
        @Option(help: "Free text.")
        var description: String?

        func run() async throws {
            let request = CreateActivationRequest(
                registrationLimit: limit, expiresInSeconds: try DurationText.seconds(expires),
                defaultInstanceName: name, description: description, tags: try Tags.parsePairs(tag)
            )
            let created = try await globals.client().post("/v1/activations", body: request, as: ActivationInfo.self)
            if globals.output == .json {
                try Output.json(created)
            } else {
                Output.line("Activation id:    \(created.activationId)")
                Output.line("Activation code:  \(created.activationCode ?? "-")   (shown only once)")
                Output.line("CA fingerprint:   \(created.caFingerprint)")
                Output.line("Expires:          \(Output.time(created.expiresAt))")
                Output.line("Limit:            \(created.registrationLimit)")
                Output.line("")
                Output.line("On each server:  tender-agent register --controller https://CONTROLLER:8443 --activation-id \(created.activationId) --activation-code \(created.activationCode ?? "CODE") --ca-fingerprint \(created.caFingerprint)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List activations that were not deleted.")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let list = try await globals.client().get("/v1/activations", as: [ActivationInfo].self)
            if globals.output == .json { return try Output.json(list) }
            Output.table(["ID", "USED", "EXPIRES", "NAME", "TAGS", "DESCRIPTION"], list.map {
                [$0.activationId, "\($0.registrationsCount)/\($0.registrationLimit)", $0.expired ? "expired" : Output.time($0.expiresAt),
                 $0.defaultInstanceName ?? "-", Output.tags($0.tags), $0.description ?? ""]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one activation.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Activation id.") var id: String

        func run() async throws {
            let a = try await globals.client().get("/v1/activations/\(PathComponent.escape(id))", as: ActivationInfo.self)
            if globals.output == .json { return try Output.json(a) }
            Output.fields([
                ("Activation", a.activationId), ("Registrations", "\(a.registrationsCount) of \(a.registrationLimit)"),
                ("Expires", a.expired ? "expired \(Output.time(a.expiresAt))" : Output.time(a.expiresAt)),
                ("Default name", a.defaultInstanceName ?? "-"), ("Tags", Output.tags(a.tags)), ("Description", a.description ?? "-"),
                ("CA fingerprint", a.caFingerprint), ("Created", Output.time(a.createdAt)),
            ])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an activation: no more registrations with it.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Activation id.") var id: String

        func run() async throws {
            try await globals.client().delete("/v1/activations/\(PathComponent.escape(id))")
            if globals.output == .json { try Output.json(["activationId": id, "status": "deleted"]) } else { Output.line("Deleted activation \(id)") }
        }
    }
}

enum PathComponent {
    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}
