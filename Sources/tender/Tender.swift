import ArgumentParser
import Foundation
import TenderWire

/// The operator CLI. Its own entry point maps every failure to the CLI's exit
/// codes (argument-parser would use 64 for usage errors).
@main
struct Tender: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tender",
        abstract: "Operate a Tender fleet: activations, instances, documents, tokens.",
        version: TenderVersion.current,
        subcommands: [ActivationCommand.self, InstanceCommand.self, DocumentCommand.self, CommandCommand.self, BaselineCommand.self, PatchCommand.self, ComplianceCommand.self, TokenCommand.self]
    )

    /// Global options may come before the subcommand (`tender --token T instance list`);
    /// argument-parser only reads them after it, so they are moved to the end.
    static func movingLeadingGlobals(_ arguments: [String]) -> [String] {
        let valued: Set<String> = ["--addr", "--token", "--token-file", "--ca-cert", "-o", "--output"]
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            guard valued.contains(name) else { break }
            leading.append(argument)
            if !argument.contains("="), index + 1 < arguments.count {
                leading.append(arguments[index + 1])
                index += 1
            }
            index += 1
        }
        return Array(arguments[index...]) + leading
    }

    static func main() async {
        do {
            var command = try parseAsRoot(Self.movingLeadingGlobals(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            // Messages may quote what the controller was sent or said: shown escaped.
            Output.error("tender: \(error.message)")
            Foundation.exit(error.exitCode)
        } catch let error as TenderError {
            Output.error("tender: \(error.message)")
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                Output.text(fullMessage(for: error))
                Foundation.exit(0)
            }
            Output.error(fullMessage(for: error))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}
