import Crypto
import Foundation

/// A Debian system in a temp directory for patch tests (the agent's and the
/// end-to-end ones): a package root with dpkg's
/// database and its own apt sources, and local archives built here with `dpkg-deb`
/// and `dpkg-scanpackages`. Patch runs act on it through `--package-root`; nothing
/// outside the directory is read or changed.
public final class AptSandbox: SandboxSystem {
    /// The archives a package can be published in, as Debian names them.
    public enum Archive: String, CaseIterable, Sendable {
        case base, security, updates

        public var suite: String {
            switch self {
            case .base: "bookworm"
            case .security: "bookworm-security"
            case .updates: "bookworm-updates"
            }
        }

        public var label: String { self == .security ? "Debian-Security" : "Debian" }
    }

    public let directory: URL
    public var root: URL { directory.appendingPathComponent("root") }
    public var repos: URL { directory.appendingPathComponent("repos") }
    private var built: URL { directory.appendingPathComponent("build") }

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tender-apt-\(UUID().uuidString.prefix(8))")
        for path in ["root/etc/apt/sources.list.d", "root/etc/apt/apt.conf.d", "root/etc/apt/preferences.d", "root/var/lib/dpkg/updates",
                     "root/var/lib/dpkg/info", "root/var/lib/apt/lists/partial", "root/var/cache/apt/archives/partial", "root/var/log/apt", "root/run", "root/tmp", "root/var/tmp"]
            + Archive.allCases.map({ "repos/\($0.rawValue)" }) {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(path), withIntermediateDirectories: true)
        }
        try Data().write(to: root.appendingPathComponent("var/lib/dpkg/status"))
        try "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n".write(to: root.appendingPathComponent("etc/os-release"), atomically: true, encoding: .utf8)
        let sources = Archive.allCases.map { "deb [trusted=yes] file:\(repos.path)/\($0.rawValue) ./" }.joined(separator: "\n") + "\n"
        try sources.write(to: root.appendingPathComponent("etc/apt/sources.list"), atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Builds a package into `archive` and returns its `.deb`.
    /// - Parameter postinst: a maintainer script run after the package is unpacked
    ///   (chrooted into the root: call `enableMaintainerScripts` first).
    @discardableResult
    public func add(_ name: String, _ version: String, to archive: Archive, priority: String = "optional", section: String = "misc", depends: String? = nil,
                    postinst: String? = nil) throws -> URL {
        let tree = built.appendingPathComponent("\(name)_\(version)")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("DEBIAN"), withIntermediateDirectories: true)
        if let postinst {
            let script = tree.appendingPathComponent("DEBIAN/postinst")
            try ("#!/bin/sh\nset -e\n" + postinst + "\n").write(to: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        }
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("usr/share/\(name)"), withIntermediateDirectories: true)
        try "\(name) \(version)\n".write(to: tree.appendingPathComponent("usr/share/\(name)/version"), atomically: true, encoding: .utf8)
        var control = "Package: \(name)\nVersion: \(version)\nArchitecture: all\nMaintainer: Tender tests <tests@example.com>\nPriority: \(priority)\nSection: \(section)\n"
        if let depends { control += "Depends: \(depends)\n" }
        control += "Description: \(name) for patch tests\n"
        try control.write(to: tree.appendingPathComponent("DEBIAN/control"), atomically: true, encoding: .utf8)
        let deb = repos.appendingPathComponent("\(archive.rawValue)/\(name)_\(version)_all.deb")
        try Self.run("/usr/bin/dpkg-deb", ["-Zgzip", "--root-owner-group", "--build", tree.path, deb.path])
        return deb
    }

    /// Writes each archive's `Packages` and a `Release` that names its suite and label
    /// (how apt tells a security archive) with the `Packages` checksum.
    public func publish() throws {
        for archive in Archive.allCases {
            let dir = repos.appendingPathComponent(archive.rawValue)
            let packages = try Self.run("/usr/bin/dpkg-scanpackages", ["--multiversion", "."], in: dir)
            try packages.write(to: dir.appendingPathComponent("Packages"), atomically: true, encoding: .utf8)
            let digest = SHA256.hash(data: Data(packages.utf8)).map { String(format: "%02x", $0) }.joined()
            let release = """
                Origin: Tender-Test
                Label: \(archive.label)
                Suite: \(archive.suite)
                Codename: \(archive.suite)
                Date: Mon, 07 Dec 2026 00:00:00 UTC
                SHA256:
                 \(digest) \(packages.utf8.count) Packages

                """
            try release.write(to: dir.appendingPathComponent("Release"), atomically: true, encoding: .utf8)
        }
    }

    /// dpkg runs maintainer scripts chrooted into the root, so the root gets a shell
    /// and the few tools test scripts use, with the libraries they need.
    public func enableMaintainerScripts() throws {
        try SandboxTools.copyShellTools(into: root)
    }

    /// Replaces an archive's `Packages` with text apt cannot use.
    public func corrupt(_ archive: Archive) throws {
        try "Package: broken\nVersion: \n\u{0}\u{1}garbage".write(to: repos.appendingPathComponent("\(archive.rawValue)/Packages"), atomically: true, encoding: .utf8)
    }

    /// Installs `debs` into the root with dpkg, as the system's starting state.
    public func install(_ debs: URL...) throws {
        try install(debs)
    }

    public func install(_ debs: [URL]) throws {
        try Self.run("/usr/bin/dpkg", ["--root=\(root.path)", "--force-not-root", "-i"] + debs.map(\.path))
    }

    /// name → version of what the root has installed.
    public func installed() throws -> [String: String] {
        let text = try Self.run("/usr/bin/dpkg-query", ["--admindir=\(root.path)/var/lib/dpkg", "-W", "-f", "${Package} ${Version}\n"])
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2 { result[String(fields[0])] = String(fields[1]) }
        }
        return result
    }

    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> String {
        try SandboxTools.run(executable, arguments, in: directory)
    }
}
