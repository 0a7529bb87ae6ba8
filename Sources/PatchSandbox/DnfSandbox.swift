import Foundation

/// A Rocky Linux 9 system in a temp directory for dnf patch tests: a package root
/// with its own rpm database and `yum.repos.d`, and local repositories built here
/// with `rpmbuild`, `createrepo_c` and `modifyrepo_c` (advisories in an
/// `updateinfo.xml`, as RHEL publishes them). Patch runs act on it through
/// `--package-root`; nothing outside the directory is read or changed (the rpm
/// tools run with `HOME` in the directory, where Debian's rpm keeps its database).
public final class DnfSandbox: SandboxSystem {
    /// The repositories a package can be published in.
    public enum Repository: String, CaseIterable, Sendable {
        case baseos, updates
    }

    /// One advisory of `updateinfo.xml`.
    public struct Advisory: Sendable {
        public var id: String
        /// `security`, `bugfix`, `enhancement`, `newpackage`.
        public var type: String
        public var severity: String?
        public var issued: Date
        /// name, version, release of each package it ships.
        public var packages: [(name: String, version: String, release: String)]

        public init(id: String, type: String, severity: String?, issued: Date, packages: [(name: String, version: String, release: String)]) {
            self.id = id
            self.type = type
            self.severity = severity
            self.issued = issued
            self.packages = packages
        }
    }

    /// Where the sandbox's rpm database lives inside the root, as on RHEL 9.
    public static let databasePath = "/var/lib/rpm"

    public let directory: URL
    public var root: URL { directory.appendingPathComponent("root") }
    public var repos: URL { directory.appendingPathComponent("repos") }
    private var built: URL { directory.appendingPathComponent("build") }
    private var home: URL { directory.appendingPathComponent("home") }
    private var advisories: [Repository: [Advisory]] = [:]

    /// The tools the sandbox needs; nil when they are all there, else what is missing.
    public static var missingTools: String? {
        let missing = ["/usr/bin/dnf", "/usr/bin/rpm", "/usr/bin/rpmbuild", "/usr/bin/createrepo_c", "/usr/bin/modifyrepo_c"]
            .filter { !FileManager.default.isExecutableFile(atPath: $0) }
        return missing.isEmpty ? nil : missing.joined(separator: ", ") + " not installed (apt-get install dnf rpm createrepo-c)"
    }

    public init() throws {
        if let missing = Self.missingTools { throw SandboxError(message: missing) }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tender-dnf-\(UUID().uuidString.prefix(8))")
        for path in ["root/etc/yum.repos.d", "root/etc/dnf/plugins/needs-restarting.d", "root/var/lib/rpm", "root/var/cache/dnf", "root/run", "root/tmp", "root/var/tmp",
                     "home", "build/SPECS"]
            + Repository.allCases.map({ "repos/\($0.rawValue)" }) {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(path), withIntermediateDirectories: true)
        }
        try "%_dbpath \(Self.databasePath)\n".write(to: home.appendingPathComponent(".rpmmacros"), atomically: true, encoding: .utf8)
        try "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n"
            .write(to: root.appendingPathComponent("etc/os-release"), atomically: true, encoding: .utf8)
        try "[main]\ngpgcheck=0\ninstallonly_limit=3\n"
            .write(to: root.appendingPathComponent("etc/dnf/dnf.conf"), atomically: true, encoding: .utf8)
        let repoFile = Repository.allCases.map {
            "[\($0.rawValue)]\nname=Tender test \($0.rawValue)\nbaseurl=file://\(repos.path)/\($0.rawValue)\ngpgcheck=0\nenabled=1\nmetadata_expire=0\n"
        }.joined(separator: "\n")
        try repoFile.write(to: root.appendingPathComponent("etc/yum.repos.d/tender-test.repo"), atomically: true, encoding: .utf8)
        try rpm(["--initdb"])
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Builds a noarch package into `repository` and returns its `.rpm`.
    /// - Parameter post: a `%post` script (run chrooted into the root: call
    ///   `enableScripts` first).
    @discardableResult
    public func add(_ name: String, _ version: String, release: String = "1", to repository: Repository, requires: String? = nil, provides: String? = nil,
                    post: String? = nil) throws -> URL {
        var spec = """
            Name: \(name)
            Version: \(version)
            Release: \(release)
            Summary: \(name) for patch tests
            License: MIT
            BuildArch: noarch

            """
        if let requires { spec += "Requires: \(requires)\n" }
        if let provides { spec += "Provides: \(provides)\n" }
        spec += "\n%description\n\(name) for patch tests\n\n%install\nmkdir -p %{buildroot}/usr/share/\(name)\necho '\(name) \(version)' > %{buildroot}/usr/share/\(name)/version\n\n"
        spec += "%files\n/usr/share/\(name)/version\n"
        if let post { spec += "\n%post\n\(post)\n" }
        let specFile = built.appendingPathComponent("SPECS/\(name)-\(version)-\(release).spec")
        try spec.write(to: specFile, atomically: true, encoding: .utf8)
        try tool("/usr/bin/rpmbuild", ["-bb", "--quiet", "--define", "_topdir \(built.path)", specFile.path])
        let rpm = built.appendingPathComponent("RPMS/noarch/\(name)-\(version)-\(release).noarch.rpm")
        let published = repos.appendingPathComponent("\(repository.rawValue)/\(rpm.lastPathComponent)")
        try? FileManager.default.removeItem(at: published)
        try FileManager.default.copyItem(at: rpm, to: published)
        return published
    }

    /// Lists `advisory` in `repository`'s `updateinfo.xml` (written by `publish`).
    public func advise(_ advisory: Advisory, in repository: Repository) {
        advisories[repository, default: []].append(advisory)
    }

    /// Writes each repository's metadata, and its advisories.
    public func publish() throws {
        for repository in Repository.allCases {
            let dir = repos.appendingPathComponent(repository.rawValue)
            try tool("/usr/bin/createrepo_c", ["-q", "--no-database", dir.path])
            guard let listed = advisories[repository], !listed.isEmpty else { continue }
            let file = built.appendingPathComponent("updateinfo-\(repository.rawValue).xml")
            try Self.updateInfo(listed, repository: repository.rawValue).write(to: file, atomically: true, encoding: .utf8)
            try tool("/usr/bin/modifyrepo_c", ["--mdtype=updateinfo", file.path, dir.appendingPathComponent("repodata").path])
        }
    }

    static func updateInfo(_ advisories: [Advisory], repository: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n"
        for advisory in advisories {
            xml += "  <update from=\"tests@example.com\" status=\"final\" type=\"\(advisory.type)\" version=\"1\">\n"
            xml += "    <id>\(advisory.id)</id>\n    <title>\(advisory.id)</title>\n"
            xml += "    <issued date=\"\(formatter.string(from: advisory.issued))\"/>\n"
            if let severity = advisory.severity { xml += "    <severity>\(severity)</severity>\n" }
            xml += "    <description>Tender test advisory</description>\n"
            xml += "    <pkglist><collection short=\"\(repository)\"><name>\(repository)</name>\n"
            for package in advisory.packages {
                xml += "      <package name=\"\(package.name)\" version=\"\(package.version)\" release=\"\(package.release)\" epoch=\"0\" arch=\"noarch\">"
                xml += "<filename>\(package.name)-\(package.version)-\(package.release).noarch.rpm</filename></package>\n"
            }
            xml += "    </collection></pkglist>\n  </update>\n"
        }
        return xml + "</updates>\n"
    }

    /// rpm runs `%post` scripts chrooted into the root: gives it a shell and tools,
    /// and a package that provides `/bin/sh` (which every package with a script requires).
    public func enableScripts() throws {
        try SandboxTools.copyShellTools(into: root)
        let shell = try add("sandbox-shell", "1.0", to: .baseos, provides: "/bin/sh")
        try rpm(["-i", "--nodeps", shell.path])
    }

    /// Names a package whose update asks for a reboot (dnf's needs-restarting list).
    public func requireRebootFor(_ name: String) throws {
        try "\(name)\n".write(to: root.appendingPathComponent("etc/dnf/plugins/needs-restarting.d/tender-test.conf"), atomically: true, encoding: .utf8)
    }

    /// Replaces a repository's `repomd.xml` with text dnf cannot use.
    public func corrupt(_ repository: Repository) throws {
        try "<repomd>\u{0}\u{1}garbage".write(to: repos.appendingPathComponent("\(repository.rawValue)/repodata/repomd.xml"), atomically: true, encoding: .utf8)
    }

    /// Installs `rpms` into the root with rpm, as the system's starting state.
    public func install(_ rpms: URL...) throws {
        try rpm(["-i", "--nodeps"] + rpms.map(\.path))
    }

    /// name → version-release of what the root has installed (the newest when a
    /// package is in twice).
    public func installed() throws -> [String: String] {
        var result: [String: String] = [:]
        for line in try rpm(["-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n"]).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2 { result[String(fields[0]), default: ""] = max(result[String(fields[0])] ?? "", String(fields[1])) }
        }
        return result
    }

    /// How many times each package is in the rpm database (two: an interrupted upgrade).
    public func installedCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for name in try rpm(["-qa", "--qf", "%{NAME}\n"]).split(separator: "\n") { counts[String(name), default: 0] += 1 }
        return counts
    }

    @discardableResult
    public func rpm(_ arguments: [String]) throws -> String {
        try tool("/usr/bin/rpm", ["--root", root.path, "--dbpath", Self.databasePath] + arguments)
    }

    @discardableResult
    private func tool(_ executable: String, _ arguments: [String]) throws -> String {
        try SandboxTools.run(executable, arguments, environment: ["HOME": home.path, "LC_ALL": "C"])
    }
}
