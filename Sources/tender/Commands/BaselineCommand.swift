import ArgumentParser
import Foundation
import TenderAPI
import TenderWire

/// `tender baseline`: Patch Manager's baselines, the default per operating system,
/// and patch groups.
struct BaselineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Patch baselines: which updates patch runs approve, per operating system.",
        subcommands: [Create.self, Update.self, List.self, Show.self, Delete.self, SetDefault.self, RegisterPatchGroup.self, DeregisterPatchGroup.self, PatchGroups.self]
    )

    /// What `create` and `update` take. On `update`, only the options given change.
    struct Fields: ParsableArguments {
        @Option(help: "Its name: 3 to 128 of letters, digits, - _ and .") var name: String?
        @Option(help: "A description.") var description: String?
        @Option(help: ArgumentHelp("A filter of the approval rule, KEY=V1,V2 (repeatable; all must pass). Keys: PRODUCT, NAME, and PRIORITY, SECTION (Debian, Ubuntu) or CLASSIFICATION, SEVERITY (dnf systems).",
                                   valueName: "filter"))
        var approve: [String] = []
        @Flag(inversion: .prefixedNo, help: "The rule approves non-security updates too (or, with --no-non-security, no longer).") var nonSecurity: Bool?
        @Option(help: "The rule's compliance level: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL or UNSPECIFIED.") var complianceLevel: String?
        @Option(help: "dnf systems: approve an update this many days after its advisory.") var approveAfterDays: Int?
        @Option(help: ArgumentHelp("A filter every update must pass, KEY=V1,V2 (repeatable).", valueName: "filter")) var globalFilter: [String] = []
        @Option(help: ArgumentHelp("A package approved whatever the rule says: NAME or NAME=VERSION (repeatable).", valueName: "package")) var approved: [String] = []
        @Flag(inversion: .prefixedNo, help: "Approved packages count when their update is not a security one.") var approvedNonSecurity: Bool?
        @Option(help: "The compliance level of approved packages.") var approvedComplianceLevel: String?
        @Option(help: ArgumentHelp("A package never approved: NAME or NAME=VERSION (repeatable).", valueName: "package")) var rejected: [String] = []
        @Option(help: "ALLOW_AS_DEPENDENCY (default: installed only as a dependency) or BLOCK (never, not even as one).") var rejectedAction: String?

        static func filters(_ texts: [String], option: String) throws -> [BaselineRequest.Filter] {
            try texts.map { text in
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { throw CLIError.usage("--\(option) takes KEY=VALUE[,VALUE...], got '\(text)'") }
                return BaselineRequest.Filter(key: parts[0].uppercased(), values: parts[1].split(separator: ",").map { String($0) })
            }
        }

        /// `request` with the options given applied; a new rule only when filters
        /// (or rule options) are given.
        func apply(to request: BaselineRequest) throws -> BaselineRequest {
            var request = request
            if let name { request.name = name }
            if let description { request.description = description }
            if !approve.isEmpty || nonSecurity != nil || complianceLevel != nil || approveAfterDays != nil {
                // The first rule changes where options are given and keeps the rest.
                var rule = request.approvalRules?.first ?? BaselineRequest.Rule(filters: [BaselineRequest.Filter(key: "PRODUCT", values: ["*"])])
                if !approve.isEmpty { rule.filters = try Self.filters(approve, option: "approve") }
                if let nonSecurity { rule.enableNonSecurity = nonSecurity }
                if let complianceLevel { rule.complianceLevel = complianceLevel }
                if let approveAfterDays { rule.approveAfterDays = approveAfterDays }
                request.approvalRules = [rule] + (request.approvalRules ?? []).dropFirst()
            }
            if !globalFilter.isEmpty { request.globalFilters = try Self.filters(globalFilter, option: "global-filter") }
            if !approved.isEmpty { request.approvedPatches = approved }
            if let approvedNonSecurity { request.approvedPatchesEnableNonSecurity = approvedNonSecurity }
            if let approvedComplianceLevel { request.approvedPatchesComplianceLevel = approvedComplianceLevel }
            if !rejected.isEmpty { request.rejectedPatches = rejected }
            if let rejectedAction { request.rejectedPatchesAction = rejectedAction }
            return request
        }
    }

    static func request(from info: BaselineInfo) -> BaselineRequest {
        BaselineRequest(name: info.name, operatingSystem: info.operatingSystem, description: info.description, approvalRules: info.approvalRules,
                        globalFilters: info.globalFilters, approvedPatches: info.approvedPatches, approvedPatchesComplianceLevel: info.approvedPatchesComplianceLevel,
                        approvedPatchesEnableNonSecurity: info.approvedPatchesEnableNonSecurity, rejectedPatches: info.rejectedPatches,
                        rejectedPatchesAction: info.rejectedPatchesAction)
    }

    static func filterText(_ filters: [BaselineRequest.Filter]) -> String {
        filters.isEmpty ? "-" : filters.map { "\($0.key)=\($0.values.joined(separator: ","))" }.joined(separator: " ")
    }

    static func printBaseline(_ b: BaselineInfo) {
        Output.fields([
            ("Baseline", b.baselineId), ("Name", b.name), ("Operating system", b.operatingSystem), ("Description", b.description ?? "-"),
            ("Predefined", b.predefined ? "yes (read-only)" : "no"), ("Default", b.defaultBaseline ? "yes, for \(b.operatingSystem)" : "no"),
            ("Patch groups", b.patchGroups.isEmpty ? "-" : b.patchGroups.joined(separator: ", ")),
            ("Global filters", filterText(b.globalFilters)),
            ("Approved", b.approvedPatches.isEmpty ? "-" : b.approvedPatches.joined(separator: " ") + " (\(b.approvedPatchesComplianceLevel)\(b.approvedPatchesEnableNonSecurity ? ", non-security too" : ""))"),
            ("Rejected", b.rejectedPatches.isEmpty ? "-" : b.rejectedPatches.joined(separator: " ") + " (\(b.rejectedPatchesAction))"),
            ("Created", Output.time(b.createdAt)), ("Updated", Output.time(b.updatedAt)),
        ])
        Output.line("Approval rules:")
        Output.table(["  FILTERS", "LEVEL", "NON-SECURITY", "AFTER DAYS"], b.approvalRules.map { rule in
            ["  " + filterText(rule.filters), rule.complianceLevel ?? "UNSPECIFIED", rule.enableNonSecurity == true ? "yes" : "no", rule.approveAfterDays.map(String.init) ?? "-"]
        })
    }

    static func path(_ id: String) -> String { "/v1/baselines/\(PathComponent.escape(id))" }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a baseline. Without --approve it has one rule, PRODUCT=*: every security update (with --non-security, every update).")
        @OptionGroup var globals: GlobalOptions
        @Option(name: .customLong("os"), help: "DEBIAN, UBUNTU, REDHAT_ENTERPRISE_LINUX, ROCKY_LINUX, ALMA_LINUX, ORACLE_LINUX, CENTOS, FEDORA or AMAZON_LINUX_2023.")
        var operatingSystem: String
        @OptionGroup var fields: Fields

        func run() async throws {
            guard let name = fields.name else { throw CLIError.usage("give the baseline a --name") }
            var request = BaselineRequest(name: name, operatingSystem: operatingSystem.uppercased(),
                                          approvalRules: [BaselineRequest.Rule(filters: [BaselineRequest.Filter(key: "PRODUCT", values: ["*"])])])
            request = try fields.apply(to: request)
            let created = try await globals.client().post("/v1/baselines", body: request, as: BaselineInfo.self)
            if globals.output == .json { try Output.json(created) } else { Output.line("Created baseline \(created.baselineId) (\(created.name), \(created.operatingSystem))") }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a baseline: the options given replace what it has (rule options change its first approval rule).")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Baseline id.") var id: String
        @OptionGroup var fields: Fields

        func run() async throws {
            let client = try globals.client()
            let current = try await client.get(BaselineCommand.path(id), as: BaselineInfo.self)
            let request = try fields.apply(to: BaselineCommand.request(from: current))
            let updated = try await client.put(BaselineCommand.path(id), body: request, as: BaselineInfo.self)
            if globals.output == .json { try Output.json(updated) } else { Output.line("Updated baseline \(updated.baselineId) (\(updated.name))") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the predefined and stored baselines.")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let list = try await globals.client().get("/v1/baselines", as: [BaselineInfo].self)
            if globals.output == .json { return try Output.json(list) }
            Output.table(["ID", "NAME", "OS", "DEFAULT", "PATCH GROUPS", "DESCRIPTION"], list.map {
                [$0.baselineId, $0.name, $0.operatingSystem, $0.defaultBaseline ? "yes" : "-", $0.patchGroups.isEmpty ? "-" : $0.patchGroups.joined(separator: ","), $0.description ?? ""]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a baseline.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Baseline id.") var id: String

        func run() async throws {
            let baseline = try await globals.client().get(BaselineCommand.path(id), as: BaselineInfo.self)
            if globals.output == .json { return try Output.json(baseline) }
            BaselineCommand.printBaseline(baseline)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a baseline that is no default and serves no patch group.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Baseline id.") var id: String

        func run() async throws {
            try await globals.client().delete(BaselineCommand.path(id))
            if globals.output == .json { try Output.json(["baselineId": id, "status": "deleted"]) } else { Output.line("Deleted baseline \(id)") }
        }
    }

    struct SetDefault: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-default", abstract: "Make a baseline the default for its operating system.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Baseline id.") var id: String

        func run() async throws {
            let baseline = try await globals.client().post(BaselineCommand.path(id) + "/default", body: [String: String](), as: BaselineInfo.self)
            if globals.output == .json { try Output.json(baseline) } else { Output.line("\(baseline.baselineId) is the default baseline for \(baseline.operatingSystem)") }
        }
    }

    struct RegisterPatchGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "register-patch-group",
                                                        abstract: "Patch the instances of a patch group (tag 'Patch Group' or 'PatchGroup') with this baseline.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Baseline id.") var id: String
        @Option(help: "The patch group.") var patchGroup: String

        func run() async throws {
            let group = try await globals.client().post(BaselineCommand.path(id) + "/patch-groups", body: PatchGroupRequest(patchGroup: patchGroup), as: PatchGroupInfo.self)
            if globals.output == .json { try Output.json(group) } else { Output.line("Patch group \(group.patchGroup) uses \(group.baselineId) for \(group.operatingSystem)") }
        }
    }

    struct DeregisterPatchGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "deregister-patch-group", abstract: "The patch group's instances go back to the default baseline.")
        @OptionGroup var globals: GlobalOptions
        @Argument(help: "Baseline id.") var id: String
        @Option(help: "The patch group.") var patchGroup: String

        func run() async throws {
            try await globals.client().delete(BaselineCommand.path(id) + "/patch-groups/" + PathComponent.escape(patchGroup))
            if globals.output == .json { try Output.json(["baselineId": id, "patchGroup": patchGroup, "status": "deregistered"]) } else { Output.line("Patch group \(patchGroup) no longer uses \(id)") }
        }
    }

    struct PatchGroups: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "patch-groups", abstract: "List patch groups and their baseline per operating system.")
        @OptionGroup var globals: GlobalOptions

        func run() async throws {
            let groups = try await globals.client().get("/v1/patch-groups", as: [PatchGroupInfo].self)
            if globals.output == .json { return try Output.json(groups) }
            Output.table(["PATCH GROUP", "OS", "BASELINE"], groups.map { [$0.patchGroup, $0.operatingSystem, $0.baselineId] })
        }
    }
}
