import ArgumentParser
import Foundation
import TenderAPI

extension Role: ExpressibleByArgument {}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Operator API tokens (admin only).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; it is shown only now.")
        @OptionGroup var globals: GlobalOptions
        @Option(help: "admin, operator or read-only.") var role: Role
        @Option(help: "What the token is for.") var name: String

        func run() async throws {
            let token = try await globals.client().post("/v1/tokens", body: CreateTokenRequest(name: name, role: role), as: TokenInfo.self)
            if globals.output == .json {
                try Output.json(token)
            } else {
                Output.line("Token id:  \(token.tokenId)")
                Output.line("Role:      \(token.role.rawValue)")
                Output.line("Token:     \(token.token ?? "-")   (shown only once)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let list = try await globals.client().get("/v1/tokens", as: [TokenInfo].self)
            if globals.output == .json { return try Output.json(list) }
            Output.table(["ID", "ROLE", "NAME", "CREATED", "REVOKED"], list.map {
                [$0.tokenId, $0.role.rawValue, $0.name, Output.time($0.createdAt), Output.time($0.revokedAt)]
            })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token at once.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Token id (tok-...).") var id: String

        func run() async throws {
            try await globals.client().delete("/v1/tokens/\(PathComponent.escape(id))")
            if globals.output == .json { try Output.json(["tokenId": id, "status": "revoked"]) } else { Output.line("Revoked \(id)") }
        }
    }
}
