import ArgumentParser
import Foundation
import TenderAPI

struct InstanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instance",
        abstract: "The managed servers.",
        subcommands: [List.self, Show.self, Tag.self, Untag.self, Deregister.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List instances, optionally filtered by targets (all must match).")
        @OptionGroup var globals: GlobalOptions
        @Option(help: "ids=mi-a,mi-b | tag:KEY=V1,V2 | tag-key=KEY | * (repeatable).")
        var target: [String] = []

        func run() async throws {
            for text in target { _ = try TargetFilter(parsing: text) }
            let list = try await globals.client().get("/v1/instances", query: target.map { ("target", $0) }, as: [InstanceInfo].self)
            if globals.output == .json { return try Output.json(list) }
            Output.table(["ID", "NAME", "PING", "LAST PING", "PLATFORM", "IP", "AGENT", "TAGS"], list.map {
                [$0.instanceId, $0.name, $0.pingStatus.rawValue, Output.time($0.lastPingAt),
                 [$0.platformName, $0.platformVersion].compactMap { $0 }.joined(separator: " "),
                 $0.ipAddress ?? "-", $0.agentVersion ?? "-", Output.tags($0.tags)]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one instance.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Instance id (mi-...).") var id: String

        func run() async throws {
            let i = try await globals.client().get("/v1/instances/\(PathComponent.escape(id))", as: InstanceInfo.self)
            if globals.output == .json { return try Output.json(i) }
            Output.fields([
                ("Instance", i.instanceId), ("Name", i.name), ("Ping status", i.pingStatus.rawValue), ("Last ping", Output.time(i.lastPingAt)),
                ("Platform", [i.platformName, i.platformVersion].compactMap { $0 }.joined(separator: " ")), ("Hostname", i.hostname ?? "-"),
                ("IP address", i.ipAddress ?? "-"), ("Agent version", i.agentVersion ?? "-"), ("Tags", Output.tags(i.tags)),
                ("Activation", i.activationId), ("Registered", Output.time(i.registeredAt)),
            ])
        }
    }

    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add or replace tags.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Instance id.") var id: String
        @Argument(help: "KEY=VALUE pairs.") var tags: [String]

        func run() async throws {
            let instance = try await globals.client().post("/v1/instances/\(PathComponent.escape(id))/tags", body: TagInstanceRequest(tags: try Tags.parsePairs(tags)), as: InstanceInfo.self)
            if globals.output == .json { try Output.json(instance) } else { Output.line("\(instance.instanceId): \(Output.tags(instance.tags))") }
        }
    }

    struct Untag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove tags by key.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Instance id.") var id: String
        @Argument(help: "Tag keys.") var keys: [String]

        func run() async throws {
            let instance = try await globals.client().post("/v1/instances/\(PathComponent.escape(id))/untag", body: UntagInstanceRequest(keys: keys), as: InstanceInfo.self)
            if globals.output == .json { try Output.json(instance) } else { Output.line("\(instance.instanceId): \(Output.tags(instance.tags))") }
        }
    }

    struct Deregister: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deregister an instance: its certificate stops working at once.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Instance id.") var id: String

        func run() async throws {
            try await globals.client().post("/v1/instances/\(PathComponent.escape(id))/deregister")
            if globals.output == .json { try Output.json(["instanceId": id, "status": "deregistered"]) } else { Output.line("Deregistered \(id)") }
        }
    }
}
