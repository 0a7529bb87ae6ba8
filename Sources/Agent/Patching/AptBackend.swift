#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderPatching
import TenderWire

/// Debian and Ubuntu: drives `apt-get`, `apt-cache`, `apt-mark`, `dpkg` and
/// `dpkg-query` on the package root. For a root other than `/` it writes an apt
/// configuration that points every apt directory (and dpkg, through `--root`) into
/// that root, so nothing of the host's package state is read or changed.
struct AptBackend: PackageBackend {
    let root: PackageRoot
    let tool: PackageTool
    /// The product name filters see (`Debian12`).
    let product: String?

    /// How many package names one `apt-cache policy` call gets.
    static let policyBatch = 400

    /// - Parameter workDirectory: where the apt configuration for another root is written.
    init(root: PackageRoot, product: String?, workDirectory: URL, deadline: Duration, cancellation: CancelHandle?) throws {
        self.root = root
        self.product = product
        var tool = PackageTool(deadline: deadline, cancellation: cancellation)
        if !root.isHostRoot {
            guard !root.path.contains(where: { $0 == "\"" || $0 == "\n" || $0 == "\\" || $0 == ";" }) else {
                throw PatchRunError(.badInputs, "package root \(root.path) holds a character apt's configuration cannot carry")
            }
            let config = workDirectory.appendingPathComponent("apt.conf")
            try SecureFile.makeDirectory(workDirectory, mode: 0o700)
            try SecureFile.write(Self.configuration(for: root), to: config, mode: 0o600)
            tool.environment["APT_CONFIG"] = config.path
        }
        self.tool = tool
    }

    /// apt reads `APT_CONFIG` before anything else, so `Dir` set here also moves the
    /// configuration parts it reads next into the root: the host's hooks never run.
    static func configuration(for root: PackageRoot) -> String {
        """
        Dir "\(root.path)/";
        Dir::State::status "\(root.path)/var/lib/dpkg/status";
        DPkg::Options { "--root=\(root.path)"; };

        """
    }

    private var admindir: String { root.file("/var/lib/dpkg") }

    func refresh(log: PatchLog) async throws {
        log.say("Refreshing the package lists (apt-get update)")
        let result = try await tool.capture("apt-get", ["update", "-q", "-o", "APT::Update::Error-Mode=any"])
        guard result.succeeded, !result.stderr.contains("E: ") else {
            throw PatchRunError(.toolFailed, "apt-get update failed: " + Self.errors(in: result))
        }
        let warnings = result.stderr.split(separator: "\n").filter { $0.hasPrefix("W: ") }
        for warning in warnings.prefix(20) { log.warn(String(warning)) }
    }

    func inventory() async throws -> PackageInventory {
        let installed = try await installedPackages()
        let auto = try await autoInstalled()
        let releases = AptPolicy.releases(try await checked("apt-cache", ["policy"]).stdout)
        var policies: [String: AptPolicy.Package] = [:]
        let names = installed.map(\.queryName)
        for start in stride(from: 0, to: names.count, by: Self.policyBatch) {
            let batch = Array(names[start..<min(start + Self.policyBatch, names.count)])
            for package in AptPolicy.packages(try await checked("apt-cache", ["policy", "--"] + batch).stdout) {
                policies[package.name] = package
            }
        }
        func facts(_ version: String, of policy: AptPolicy.Package?) -> PackageVersionFacts {
            let security = policy?.files(of: version).contains { releases[$0]?.isSecurity ?? false } ?? false
            return PackageVersionFacts(version: version, security: security)
        }
        let packages = installed.map { package -> PackageFacts in
            let policy = policies[package.queryName]
            let candidate = policy?.candidate
            let update = candidate.flatMap { $0 == package.version ? nil : facts($0, of: policy) }
            return PackageFacts(name: package.name, architecture: package.architecture, installed: facts(package.version, of: policy), update: update,
                                product: product, priority: package.priority, section: package.section,
                                autoInstalled: auto.contains(package.queryName) || auto.contains(package.name), broken: package.isInterrupted)
        }
        return PackageInventory(packages: packages, rebootRequired: rebootRequired, rebootPackages: rebootPackages)
    }

    func repairInterrupted(log: PatchLog) async throws -> Bool {
        let broken = try await installedPackages().filter(\.isInterrupted)
        guard !broken.isEmpty else { return false }
        log.say("Repairing an interrupted package operation (dpkg --configure -a): \(broken.map(\.name).sorted().prefix(20).joined(separator: ", "))")
        let result = try await tool.run("dpkg", dpkgRoot + ["--configure", "-a", "--force-confdef", "--force-confold"], appendingTo: (log.stdout, log.stderr))
        guard result.succeeded else {
            throw PatchRunError(.toolFailed, "dpkg --configure -a failed (\(result.ending)); see the output above")
        }
        return true
    }

    func install(_ updates: [PackageFacts], blocked: [PackageSpec], log: PatchLog) async throws -> InstallOutcome {
        var chosen = updates.filter { $0.update != nil }
        var leftOut: [PackageFacts] = []
        if !blocked.isEmpty {
            // A blocked package must not come in as a dependency either: what apt's
            // simulation would install decides.
            (chosen, leftOut) = try await BlockedDependencies.split(chosen, log: log) { updates in
                try await simulatedInstalls(updates).filter { isBlocked($0, blocked) }.map { "\($0.name) \($0.version)" }
            }
        }
        guard !chosen.isEmpty else { return InstallOutcome(leftOut: leftOut, succeeded: true) }
        let wasAuto = chosen.filter(\.autoInstalled).map(\.name)
        log.say("Installing \(chosen.count) update(s): " + chosen.map { "\($0.name) \($0.update?.version ?? "")" }.joined(separator: ", "))
        let arguments = ["install", "-y", "-q", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "--"]
            + chosen.map { "\($0.name)=\($0.update?.version ?? "")" }
        // An install is not cancelled half-way: dpkg stopped in the middle leaves the
        // system for the next run to repair.
        var installer = tool
        installer.cancellation = nil
        let result = try await installer.run("apt-get", arguments, appendingTo: (log.stdout, log.stderr))
        if !result.succeeded {
            log.warn("apt-get install ended with \(result.ending); what went in is in the report")
        }
        if !wasAuto.isEmpty {
            // apt-get marks what it was asked for as installed by hand; these were dependencies.
            _ = try? await tool.capture("apt-mark", ["auto", "--"] + wasAuto)
        }
        return InstallOutcome(leftOut: leftOut, succeeded: result.succeeded)
    }

    // MARK: the tools

    private var dpkgRoot: [String] { root.isHostRoot ? [] : ["--root=\(root.path)"] }

    private var rebootRequired: Bool {
        root.exists("/run/reboot-required") || root.exists("/var/run/reboot-required")
    }

    private var rebootPackages: Set<String>? {
        for path in ["/run/reboot-required.pkgs", "/var/run/reboot-required.pkgs"] {
            if let text = root.read(path, limit: 1024 * 1024) {
                return Set(text.split(separator: "\n").map { $0.trimmingBlanks() }.filter { !$0.isEmpty })
            }
        }
        return nil
    }

    private func checked(_ executable: String, _ arguments: [String]) async throws -> PackageTool.Result {
        let result = try await tool.capture(executable, arguments)
        guard result.succeeded else {
            throw PatchRunError(.toolFailed, "\(executable) \(arguments.prefix(2).joined(separator: " ")) failed: " + Self.errors(in: result))
        }
        return result
    }

    /// The `E:` lines of apt's stderr (else its end), for a failure message.
    static func errors(in result: PackageTool.Result) -> String {
        let lines = result.stderr.split(separator: "\n").map(String.init)
        let errors = lines.filter { $0.hasPrefix("E: ") || $0.hasPrefix("dpkg: error") }
        let shown = errors.isEmpty ? Array(lines.suffix(5)) : Array(errors.prefix(10))
        let code = result.ending
        return shown.isEmpty ? code : shown.joined(separator: "\n") + " (\(code))"
    }

    struct Installed: Sendable {
        var name: String
        var architecture: String
        var version: String
        var status: String
        var priority: String?
        var section: String?
        /// `name:arch` for another architecture's package, as apt names it.
        var queryName: String
        /// dpkg's status letter is not installed, config-files or not-installed.
        var isInterrupted: Bool {
            let letters = Array(status)
            return letters.count >= 2 && !["i", "n", "c"].contains(letters[1]) || (letters.count >= 3 && letters[2] != " ")
        }
    }

    private func installedPackages() async throws -> [Installed] {
        let native = try await checked("dpkg", dpkgRoot + ["--print-architecture"]).stdout.trimmingWhitespace()
        let format = "${Package}\t${Architecture}\t${Version}\t${db:Status-Abbrev}\t${Priority}\t${Section}\n"
        let listing = try await checked("dpkg-query", ["--admindir=\(admindir)", "-W", "-f", format]).stdout
        var packages: [Installed] = []
        for line in listing.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 6, !fields[0].isEmpty, !fields[2].isEmpty else { continue }
            let status = fields[3]
            let letters = Array(status)
            // "ii ": installed; "rc ": only its configuration is left; "un ": not installed.
            guard letters.count >= 2, letters[1] != "n", letters[1] != "c" else { continue }
            let package = Installed(name: fields[0], architecture: fields[1], version: fields[2], status: status,
                                    priority: fields[4].isEmpty ? nil : fields[4], section: fields[5].isEmpty ? nil : fields[5],
                                    queryName: fields[1] == native || fields[1] == "all" ? fields[0] : "\(fields[0]):\(fields[1])")
            packages.append(package)
        }
        return packages
    }

    private func autoInstalled() async throws -> Set<String> {
        let result = try await checked("apt-mark", ["showauto"])
        return Set(result.stdout.split(separator: "\n").map { $0.trimmingBlanks() })
    }

    /// What `apt-get -s install` would install or upgrade for these updates.
    private func simulatedInstalls(_ updates: [PackageFacts]) async throws -> [(name: String, version: String)] {
        let result = try await checked("apt-get", ["-s", "-q", "install", "--no-install-recommends", "--"] + updates.map { "\($0.name)=\($0.update?.version ?? "")" })
        return result.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            // "Inst hello [1.0] (1.1 Debian-Security:bookworm-security [all])"
            guard line.hasPrefix("Inst ") else { return nil }
            let fields = line.split(separator: " ")
            guard fields.count >= 2 else { return nil }
            let name = fields[1].split(separator: ":").first.map(String.init) ?? String(fields[1])
            let version = line.split(separator: "(", maxSplits: 1).dropFirst().first?.split(separator: " ").first.map(String.init) ?? ""
            return (name, version)
        }
    }

    private func isBlocked(_ install: (name: String, version: String), _ blocked: [PackageSpec]) -> Bool {
        blocked.contains { $0.matches(name: install.name, version: install.version) }
    }
}
