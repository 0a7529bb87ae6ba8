#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderPatching
import TenderWire

/// RHEL, Rocky, Alma, Oracle, CentOS Stream, Fedora and Amazon Linux: reads the
/// installed packages with `rpm`, the updates and their advisories (updateinfo:
/// classification, severity, release date) with `dnf`, and installs with `dnf`.
///
/// For a root other than `/` every dnf command gets `--installroot`, so dnf reads
/// that root's `dnf.conf`, `yum.repos.d` and cache; rpm gets `--root` and the
/// root's own database path (written as `_dbpath` in an `.rpmmacros` under the work
/// directory, used as `HOME`, since dnf has no option for it and Debian's rpm would
/// otherwise look in the user's home).
struct DnfBackend: PackageBackend {
    let root: PackageRoot
    let tool: PackageTool
    let product: String?
    /// Where the rpm database is inside the root.
    let databasePath: String
    /// `--releasever` for another root whose packages do not say it (nil: dnf finds it).
    let releaseVersion: String?

    /// Packages several versions of which are installed side by side on purpose
    /// (dnf's `installonlypkgs`): two of them are not an interrupted upgrade.
    static let installOnly: Set<String> = ["kernel", "kernel-core", "kernel-modules", "kernel-modules-core", "kernel-modules-extra", "kernel-devel",
                                           "kernel-debug", "kernel-debug-core", "kernel-debug-modules", "kernel-rt", "kernel-rt-core", "kernel-rt-modules",
                                           "kernel-uek", "kernel-uek-core", "kernel-uek-modules", "kernel-PAE", "kmod-kvdo"]
    /// Packages whose update only takes effect after a reboot, as dnf's
    /// `needs-restarting -r` lists them; a system adds names in
    /// `/etc/dnf/plugins/needs-restarting.d/*.conf`.
    static let rebootPackages: Set<String> = ["kernel", "kernel-core", "kernel-rt", "kernel-rt-core", "kernel-uek", "glibc", "linux-firmware", "systemd",
                                              "dbus", "dbus-broker", "dbus-daemon", "microcode_ctl"]

    /// - Parameter workDirectory: where the rpm configuration for another root is written.
    static func make(root: PackageRoot, release: OSRelease, workDirectory: URL, deadline: Duration, cancellation: CancelHandle?) async throws -> DnfBackend {
        var tool = PackageTool(deadline: deadline, cancellation: cancellation)
        // Advisory dates print in local time: UTC reads the same everywhere.
        tool.environment["TZ"] = "UTC"
        let sysimage = "/usr/lib/sysimage/rpm"
        let databasePath = ["rpmdb.sqlite", "Packages"].contains { root.exists("\(sysimage)/\($0)") } ? sysimage : "/var/lib/rpm"
        guard root.isHostRoot || root.exists(databasePath) else {
            throw PatchRunError(.unsupportedSystem, "\(root.file(databasePath)) is missing: \(root.path) has no rpm database")
        }
        var releaseVersion: String?
        if !root.isHostRoot {
            guard !root.path.contains(where: { $0 == "\n" || $0 == "%" || $0 == "\\" || $0 == " " }) else {
                throw PatchRunError(.badInputs, "package root \(root.path) holds a character rpm's configuration cannot carry")
            }
            let home = workDirectory.appendingPathComponent("rpm-home")
            try SecureFile.makeDirectory(home, mode: 0o700)
            try SecureFile.write("%_dbpath \(databasePath)\n", to: home.appendingPathComponent(".rpmmacros"), mode: 0o600)
            tool.environment["HOME"] = home.path
            // dnf takes $releasever from the package providing system-release(releasever);
            // a root without one (a bare image, a test root) gets its os-release's major version.
            let provides = try await tool.capture("rpm", ["--root", root.path, "--dbpath", databasePath, "-q", "--whatprovides", "system-release(releasever)"])
            if !provides.succeeded {
                releaseVersion = release.versionID.flatMap { $0.split(separator: ".").first.map(String.init) }
            }
        }
        return DnfBackend(root: root, tool: tool, product: release.product, databasePath: databasePath, releaseVersion: releaseVersion)
    }

    func refresh(log: PatchLog) async throws {
        log.say("Refreshing the package lists (dnf makecache)")
        let result = try await tool.capture("dnf", dnfArguments + ["makecache", "--refresh"])
        guard result.succeeded else {
            throw PatchRunError(.toolFailed, "dnf makecache failed: " + Self.errors(in: result))
        }
    }

    func inventory() async throws -> PackageInventory {
        let installed = try await installedPackages()
        var updates: [String: RPMName] = [:]
        let query = "%{name}\t%{epoch}\t%{version}\t%{release}\t%{arch}\n"
        for line in try await checked("dnf", cached + ["-q", "repoquery", "--upgrades", "--latest-limit=1", "--qf", query]).stdout.split(separator: "\n") {
            if let update = Self.rpmName(line) { updates[update.key] = update }
        }
        let advisories = DnfAdvisories(listing: try await checked("dnf", cached + ["-v", "updateinfo", "list", "--updates"]).stdout)
        // The installed versions' own: an installed security fix is an installed patch.
        let installedAdvisories = DnfAdvisories(listing: try await checked("dnf", cached + ["-v", "updateinfo", "list", "--installed"]).stdout)
        var dependencies = Set<String>()
        for line in try await checked("dnf", cached + ["-q", "repoquery", "--installed", "--qf", "%{name}.%{arch}\t%{reason}\n"]).stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count == 2, fields[1] == "dependency" || fields[1] == "weak-dependency" { dependencies.insert(String(fields[0])) }
        }
        let packages = installed.map { package -> PackageFacts in
            let update = updates[package.name.key].map { update -> PackageVersionFacts in
                let advisory = advisories.strongest(for: update.name, architecture: update.architecture)
                return PackageVersionFacts(version: update.evr, security: advisory?.classification == "Security", classification: advisory?.classification,
                                           severity: advisory?.severity, releasedAt: advisory?.releasedAt)
            }
            let fixed = installedAdvisories.strongest(for: package.name.name, architecture: package.name.architecture)
            let current = PackageVersionFacts(version: package.name.evr, security: fixed?.classification == "Security", classification: fixed?.classification,
                                              severity: fixed?.severity, releasedAt: fixed?.releasedAt)
            return PackageFacts(name: package.name.name, architecture: package.name.architecture, installed: current,
                                update: update, product: product, autoInstalled: dependencies.contains(package.name.key), broken: package.duplicated)
        }
        let waiting = try rebootWaiting(installed)
        return PackageInventory(packages: packages, rebootRequired: !waiting.isEmpty, rebootPackages: waiting)
    }

    func repairInterrupted(log: PatchLog) async throws -> Bool {
        // An upgrade cut short leaves the new and the old version in the rpm database.
        let check = try await tool.capture("dnf", cached + ["-q", "check", "--duplicates"])
        let duplicates = check.stdout.split(separator: "\n").filter { $0.contains(" is a duplicate with ") }
        guard !duplicates.isEmpty else {
            guard check.succeeded else { throw PatchRunError(.toolFailed, "dnf check --duplicates failed: " + Self.errors(in: check)) }
            return false
        }
        log.say("Repairing an interrupted package operation (dnf remove --duplicates): " + duplicates.prefix(20).joined(separator: "; "))
        var installer = tool
        installer.cancellation = nil
        let result = try await installer.run("dnf", dnfArguments + ["-y", "remove", "--duplicates"], appendingTo: (log.stdout, log.stderr))
        guard result.succeeded else {
            throw PatchRunError(.toolFailed, "dnf remove --duplicates failed (\(result.ending)); see the output above")
        }
        return true
    }

    func install(_ updates: [PackageFacts], blocked: [PackageSpec], log: PatchLog) async throws -> InstallOutcome {
        var chosen = updates.filter { $0.update != nil }
        var leftOut: [PackageFacts] = []
        // A blocked package is excluded from every repository, so dnf cannot bring it
        // in as a dependency; an update that needs one cannot be resolved and is left out.
        let excludes = blocked.map { spec in "--exclude=" + (spec.version.map { "\(spec.name)-\($0)" } ?? spec.name) }
        if !excludes.isEmpty {
            (chosen, leftOut) = try await BlockedDependencies.split(chosen, log: log) { updates in
                try await resolution(updates, excludes).compactMap(Self.excludedPackage)
            }
        }
        guard !chosen.isEmpty else { return InstallOutcome(leftOut: leftOut, succeeded: true) }
        log.say("Installing \(chosen.count) update(s): " + chosen.map { "\($0.name) \($0.update?.version ?? "")" }.joined(separator: ", "))
        // An install is not cancelled half-way: rpm stopped in the middle leaves the
        // system for the next run to repair.
        var installer = tool
        installer.cancellation = nil
        let arguments = dnfArguments + Self.exactly + ["-y", "--setopt=install_weak_deps=False"] + excludes + ["upgrade", "--"] + chosen.map(Self.nevra)
        let result = try await installer.run("dnf", arguments, appendingTo: (log.stdout, log.stderr))
        if !result.succeeded {
            log.warn("dnf upgrade ended with \(result.ending); what went in is in the report")
        }
        return InstallOutcome(leftOut: leftOut, succeeded: result.succeeded)
    }

    // MARK: the tools

    /// The options every dnf command gets: the root, and a repository that cannot be
    /// read is an error, not skipped (a scan against half the repositories would
    /// report the system compliant).
    private var dnfArguments: [String] {
        var arguments = ["--setopt=skip_if_unavailable=False", "--color=never"]
        if !root.isHostRoot { arguments.append("--installroot=\(root.path)") }
        if let releaseVersion { arguments.append("--releasever=\(releaseVersion)") }
        return arguments
    }

    /// The versions asked for or nothing: without `best`, dnf skips an update it
    /// cannot resolve and still says it succeeded (the default on Fedora and Debian).
    private static let exactly = ["--setopt=best=True", "--setopt=strict=True"]

    /// After `refresh`: dnf answers from the metadata just fetched.
    private var cached: [String] { dnfArguments + ["--cacheonly"] }

    private var rpmArguments: [String] { root.isHostRoot ? [] : ["--root", root.path, "--dbpath", databasePath] }

    private static func nevra(_ update: PackageFacts) -> String {
        "\(update.name)-\(update.update?.version ?? "")" + (update.architecture.map { ".\($0)" } ?? "")
    }

    /// dnf's problems when resolving an upgrade to these updates without the
    /// excluded packages; empty when it resolves.
    private func resolution(_ updates: [PackageFacts], _ excludes: [String]) async throws -> [String] {
        let result = try await tool.capture("dnf", cached + Self.exactly + ["--assumeno"] + excludes + ["upgrade", "--"] + updates.map(Self.nevra))
        // --assumeno ends a run that resolves with exit 1 ("Operation aborted."); one
        // that does not prints its problems first.
        guard result.stderr.contains("Problem") || result.stderr.contains("Error:") else { return [] }
        return result.stderr.split(separator: "\n").map { $0.trimmingBlanks() }.filter { !$0.isEmpty }
    }

    /// "- package libbad-1.0-1.noarch is filtered out by exclude filtering" → that package.
    private static func excludedPackage(_ problem: String) -> String? {
        guard problem.contains("filtered out by exclude filtering") else { return nil }
        let words = problem.split(separator: " ")
        guard let index = words.firstIndex(of: "package"), index + 1 < words.count else { return nil }
        return String(words[index + 1])
    }

    private func checked(_ executable: String, _ arguments: [String]) async throws -> PackageTool.Result {
        let result = try await tool.capture(executable, arguments)
        guard result.succeeded else {
            let shown = arguments.filter { !$0.hasPrefix("-") }.prefix(2).joined(separator: " ")
            throw PatchRunError(.toolFailed, "\(executable) \(shown) failed: " + Self.errors(in: result))
        }
        return result
    }

    /// dnf's `Error:` lines and the problems after them (else stderr's end), for a
    /// failure message.
    static func errors(in result: PackageTool.Result) -> String {
        let lines = result.stderr.split(separator: "\n").map(String.init).filter { !$0.trimmingBlanks().isEmpty }
        var shown: [String] = []
        if let first = lines.firstIndex(where: { $0.hasPrefix("Error:") || $0.hasPrefix("error:") }) {
            shown = Array(lines[first...].prefix(10))
        } else {
            shown = Array(lines.suffix(5))
        }
        let code = result.ending
        return shown.isEmpty ? code : shown.joined(separator: "\n") + " (\(code))"
    }

    /// "name\tepoch\tversion\trelease\tarch"; epoch "(none)" is 0.
    static func rpmName(_ line: Substring) -> RPMName? {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 5, !fields[0].isEmpty, !fields[2].isEmpty, fields[4] != "(none)" else { return nil }
        return RPMName(name: fields[0], epoch: Int(fields[1]) ?? 0, version: fields[2], release: fields[3], architecture: fields[4])
    }

    struct Installed: Sendable {
        var name: RPMName
        var installedAt: Int
        /// In the database twice and not an install-only package: an upgrade was
        /// cut short between adding the new version and removing the old.
        var duplicated: Bool
    }

    /// One entry per name and architecture: the newest install when there are two.
    private func installedPackages() async throws -> [Installed] {
        let format = "%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{INSTALLTIME}\n"
        let listing = try await checked("rpm", rpmArguments + ["-qa", "--qf", format]).stdout
        var byKey: [String: Installed] = [:]
        var order: [String] = []
        for line in listing.split(separator: "\n") {
            // gpg-pubkey entries are imported signing keys, not packages.
            guard let name = Self.rpmName(line), name.name != "gpg-pubkey" else { continue }
            let installedAt = Int(line.split(separator: "\t", omittingEmptySubsequences: false).dropFirst(5).first ?? "") ?? 0
            let package = Installed(name: name, installedAt: installedAt, duplicated: false)
            guard let existing = byKey[name.key] else {
                byKey[name.key] = package
                order.append(name.key)
                continue
            }
            var newest = installedAt >= existing.installedAt ? package : existing
            newest.duplicated = true
            byKey[name.key] = newest
        }
        // Twice on purpose: install-only packages, by dnf's list and by what they provide.
        if byKey.values.contains(where: \.duplicated) {
            let installOnly = try await installOnlyNames()
            for key in order where byKey[key]?.duplicated == true && installOnly.contains(byKey[key]?.name.name ?? "") {
                byKey[key]?.duplicated = false
            }
        }
        return order.compactMap { byKey[$0] }
    }

    /// `installOnly` and the installed packages providing what dnf's
    /// `installonlypkgs` names (`installonlypkg(kernel)`, ...).
    private func installOnlyNames() async throws -> Set<String> {
        let provides = ["installonlypkg(kernel)", "installonlypkg(kernel-module)", "installonlypkg(vm)", "multiversion(kernel)"]
        // Exit 1 when one of them has no provider ("no package provides ..."): not an error.
        let result = try await tool.capture("rpm", rpmArguments + ["-q", "--qf", "%{NAME}\n", "--whatprovides"] + provides)
        let named = result.stdout.split(separator: "\n").filter { !$0.hasPrefix("no package provides") }.map(String.init)
        return Self.installOnly.union(named)
    }

    /// The installed reboot packages updated since the system booted.
    private func rebootWaiting(_ installed: [Installed]) throws -> Set<String> {
        var names = Self.rebootPackages
        let directory = "/etc/dnf/plugins/needs-restarting.d"
        for file in ((try? FileManager.default.contentsOfDirectory(atPath: root.file(directory))) ?? []).prefix(100) where file.hasSuffix(".conf") {
            guard let text = root.read(directory + "/" + file, limit: 64 * 1024) else { continue }
            for line in text.split(separator: "\n") {
                let name = line.trimmingBlanks()
                if !name.isEmpty, !name.hasPrefix("#") { names.insert(name) }
            }
        }
        // Without a boot time nothing is known to wait (not: everything does).
        guard let bootedAt = Self.bootTime() else { return [] }
        return Set(installed.filter { names.contains($0.name.name) && $0.installedAt > bootedAt }.map(\.name.name))
    }

    /// `btime` of `/proc/stat`: when the running kernel booted, in seconds since 1970.
    static func bootTime() -> Int? {
        guard let data = FileManager.default.contents(atPath: "/proc/stat") else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("btime ") {
            return Int(line.dropFirst(6).trimmingBlanks())
        }
        return nil
    }
}
