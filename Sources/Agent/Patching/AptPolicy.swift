import TenderWire

/// Reads what `apt-cache policy` prints: with no arguments, the package files apt
/// knows and the release each comes from; with package names, each package's
/// installed and candidate versions and the package files that carry each version.
/// Together they say whether a version is in a security archive, which is how
/// Debian and Ubuntu mark security updates.
enum AptPolicy {
    /// A package file's release (`release o=Debian,a=stable-security,n=bookworm-security,l=Debian-Security,c=main`).
    struct Release: Equatable, Sendable {
        var origin: String?
        var label: String?
        /// `a=`: the suite (`stable-security`, `jammy-security`).
        var archive: String?
        /// `n=`: the codename (`bookworm-security`).
        var codename: String?
        var component: String?

        /// A suite ending in `-security`, or the `Debian-Security` label.
        var isSecurity: Bool {
            (archive?.hasSuffix("-security") ?? false) || (codename?.hasSuffix("-security") ?? false) || label == "Debian-Security"
        }
    }

    struct Package: Equatable, Sendable {
        var name: String
        var installed: String?
        var candidate: String?
        /// Every version apt knows, each with the package files (as `apt-cache policy`
        /// names them) that carry it.
        var versions: [(version: String, files: [String])]

        static func == (a: Package, b: Package) -> Bool {
            a.name == b.name && a.installed == b.installed && a.candidate == b.candidate
                && a.versions.map(\.version) == b.versions.map(\.version) && a.versions.map(\.files) == b.versions.map(\.files)
        }

        func files(of version: String) -> [String] {
            versions.first { $0.version == version }?.files ?? []
        }
    }

    /// The releases of the package files in `apt-cache policy`'s header listing,
    /// keyed by the file as it is named there (`http://deb.debian.org/debian-security bookworm-security/main amd64 Packages`).
    static func releases(_ text: String) -> [String: Release] {
        var releases: [String: Release] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("Pinned packages:") { break }
            let trimmed = line.trimmingBlanks()
            if trimmed.hasPrefix("release ") {
                guard let file = current else { continue }
                releases[file] = release(String(trimmed.dropFirst("release ".count)))
            } else if let file = packageFile(line) {
                current = file
            }
        }
        return releases
    }

    /// The packages in a `apt-cache policy NAME...` listing, in its order.
    static func packages(_ text: String) -> [Package] {
        var packages: [Package] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if !line.hasPrefix(" ") {
                guard line.hasSuffix(":") else { continue }
                packages.append(Package(name: String(line.dropLast()), installed: nil, candidate: nil, versions: []))
                continue
            }
            guard !packages.isEmpty else { continue }
            let indent = line.prefix { $0 == " " || $0 == "*" }.count
            let text = line.trimmingBlanks()
            if indent == 2 {
                if text.hasPrefix("Installed: ") { packages[packages.count - 1].installed = version(text.dropFirst("Installed: ".count)) }
                if text.hasPrefix("Candidate: ") { packages[packages.count - 1].candidate = version(text.dropFirst("Candidate: ".count)) }
            } else if indent == 5 {
                // "     1.1 500" or " *** 1.0 100": a version and its priority.
                let fields = text.split(separator: " ")
                let version = fields.first == "***" ? fields.dropFirst().first : fields.first
                if let version { packages[packages.count - 1].versions.append((String(version), [])) }
            } else if indent >= 8, let file = packageFile(line) {
                let last = packages.count - 1
                guard !packages[last].versions.isEmpty else { continue }
                packages[last].versions[packages[last].versions.count - 1].files.append(file)
            }
        }
        return packages
    }

    /// " 500 file:/repo ./ Packages" → "file:/repo ./ Packages": a priority, then the file.
    private static func packageFile<S: StringProtocol>(_ line: S) -> String? {
        let text = line.trimmingBlanks()
        guard let space = text.firstIndex(of: " "), Int(text[..<space]) != nil else { return nil }
        let file = text[text.index(after: space)...].trimmingBlanks()
        return file.isEmpty ? nil : file
    }

    private static func version<S: StringProtocol>(_ text: S) -> String? {
        let value = text.trimmingBlanks()
        return value.isEmpty || value == "(none)" ? nil : value
    }

    /// `o=Debian,a=stable-security,l=Debian-Security,c=main`; a value may itself hold
    /// a comma, so a part that does not start with `x=` belongs to the value before it.
    private static func release(_ text: String) -> Release {
        var fields: [(key: String, value: String)] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bytes = Array(part.utf8)
            if bytes.count >= 2, bytes[1] == UInt8(ascii: "="), (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0]) {
                fields.append((String(part.prefix(1)), String(part.dropFirst(2))))
            } else if !fields.isEmpty {
                fields[fields.count - 1].value += "," + part
            }
        }
        func value(_ key: String) -> String? {
            fields.last { $0.key == key }.flatMap { $0.value.isEmpty ? nil : $0.value }
        }
        return Release(origin: value("o"), label: value("l"), archive: value("a"), codename: value("n"), component: value("c"))
    }
}
