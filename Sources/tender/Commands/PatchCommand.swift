import ArgumentParser
import Foundation
import TenderAPI
import TenderDocuments
import TenderPatching
import TenderWire

/// `tender patch scan|install`: a Run Command of `Tender-RunPatchBaseline`, each
/// instance with the baseline of its patch group and operating system.
struct PatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch",
        abstract: "Scan instances against their patch baselines, or install the approved updates.",
        subcommands: [Scan.self, Install.self]
    )

    struct Options: ParsableArguments {
        @OptionGroup var send: SendOptions
        @Option(help: "RebootIfNeeded (default: reboot after an install that needs it) or NoReboot.") var reboot: String?
    }

    /// Sends the run and prints it, or waits for its end.
    static func send(_ operation: PatchOperation, _ options: Options, overrideList: [String]?, globals: GlobalOptions) async throws {
        try options.send.check()
        if let reboot = options.reboot, !["RebootIfNeeded", "NoReboot"].contains(reboot) {
            throw CLIError.usage("--reboot takes RebootIfNeeded or NoReboot, got '\(reboot)'")
        }
        var parameters: [String: ParameterValue] = ["operation": .string(operation.rawValue)]
        if let reboot = options.reboot { parameters["rebootOption"] = .string(reboot) }
        if let overrideList { parameters["installOverrideList"] = .list(overrideList) }
        let request = try options.send.request(document: BuiltinDocuments.runPatchBaselineName, parameters: parameters)
        let noun = "patch \(operation.rawValue.lowercased())"
        try await options.send.deliver(request, globals: globals, noun: noun) { sent in
            "Patch \(operation.rawValue.lowercased()) \(sent.commandId): \(sent.status.rawValue), \(sent.targetCount) targets (tender command show \(sent.commandId))"
        }
    }

    /// Reads an override list: one `NAME` or `NAME=VERSION` per line; blank lines and
    /// `#` comments are skipped. Every bad line is reported.
    static func overrideList(file: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError.usage("cannot read \(file)") }
        guard data.count <= 256 * 1024 else { throw CLIError.usage("\(file) is larger than 256 KiB") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError.usage("\(file) is not UTF-8 text") }
        var problems: [DocumentProblem] = []
        var specs: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            if let spec = PackageSpec.parse(trimmed, path: "\(file):\(number + 1)", problems: &problems) { specs.append(spec.description) }
        }
        guard problems.isEmpty else { throw CLIError.usage(problems.map(\.description).joined(separator: "\n")) }
        guard specs.count <= PatchBaseline.maxListedPackages else { throw CLIError.usage("\(file) lists \(specs.count) packages, at most \(PatchBaseline.maxListedPackages)") }
        return specs
    }

    struct Scan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report each instance's missing updates against its baseline; nothing is changed.")
        @OptionGroup var globals: GlobalOptions
        @OptionGroup var options: Options

        func run() async throws {
            try await PatchCommand.send(.scan, options, overrideList: nil, globals: globals)
        }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Install the approved missing updates on each instance, then scan again.")
        @OptionGroup var globals: GlobalOptions
        @OptionGroup var options: Options
        @Option(help: "A file of packages to install instead of what the baseline approves (NAME or NAME=VERSION per line); rejected packages are still never installed.")
        var installOverrideList: String?

        func run() async throws {
            let list = try installOverrideList.map { try PatchCommand.overrideList(file: $0) }
            try await PatchCommand.send(.install, options, overrideList: list, globals: globals)
        }
    }
}
