import Crypto
import Foundation

extension AptSandbox {
    /// What a host mirror holds.
    public struct HostMirror: Sendable {
        /// Packages installed on the host (and so in the mirror's dpkg database).
        public var installedPackages: Int
        /// Package lists copied, one local archive each.
        public var lists: Int
    }

    /// Makes this sandbox a copy of the host's package state, to scan the real
    /// system's packages without touching it: the host's dpkg status, apt's
    /// dependency marks and os-release, and one local archive per package list in
    /// `/var/lib/apt/lists` (decompressed with `apt-helper cat-file`), with a
    /// `Release` carrying the list's origin, label and suite, so security archives
    /// stay security archives. The host is only read.
    ///
    /// Throws when the host has no dpkg status or no package lists (not a Debian
    /// or Ubuntu system, or `apt-get update` never ran).
    public func mirrorHost(_ host: URL = URL(fileURLWithPath: "/")) throws -> HostMirror {
        let status = host.appendingPathComponent("var/lib/dpkg/status")
        guard FileManager.default.fileExists(atPath: status.path) else { throw SandboxError(message: "\(status.path) is missing: the host has no dpkg database") }
        try replace(root.appendingPathComponent("var/lib/dpkg/status"), with: status)
        let marks = host.appendingPathComponent("var/lib/apt/extended_states")
        if FileManager.default.fileExists(atPath: marks.path) {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("var/lib/apt"), withIntermediateDirectories: true)
            try replace(root.appendingPathComponent("var/lib/apt/extended_states"), with: marks)
        }
        for release in ["etc/os-release", "usr/lib/os-release"] where FileManager.default.fileExists(atPath: host.appendingPathComponent(release).path) {
            try Data(contentsOf: host.appendingPathComponent(release)).write(to: root.appendingPathComponent("etc/os-release"))
            break
        }

        let listsDirectory = host.appendingPathComponent("var/lib/apt/lists")
        let files = try FileManager.default.contentsOfDirectory(atPath: listsDirectory.path).sorted()
        var sources: [String] = []
        for (index, file) in files.enumerated() {
            // "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages[.lz4]"
            let compressed = [".lz4", ".gz", ".xz", ".bz2", ".zst"].first { file.hasSuffix($0) }
            let base = compressed.map { String(file.dropLast($0.count)) } ?? file
            guard base.hasSuffix("_Packages"), let dists = file.range(of: "_dists_") else { continue }
            let suitePart = file[dists.upperBound...].split(separator: "_").first.map(String.init) ?? ""
            let prefix = String(file[..<dists.upperBound]) + suitePart
            let fields = Self.releaseFields(listsDirectory, prefix: prefix)
            let archive = repos.appendingPathComponent("host-\(index)")
            try FileManager.default.createDirectory(at: archive, withIntermediateDirectories: true)
            let packages = archive.appendingPathComponent("Packages")
            _ = FileManager.default.createFile(atPath: packages.path, contents: nil)
            let handle = try FileHandle(forWritingTo: packages)
            defer { try? handle.close() }
            try SandboxTools.run("/usr/lib/apt/apt-helper", ["cat-file", listsDirectory.appendingPathComponent(file).path], output: handle)
            try handle.synchronize()
            let digest = try Self.sha256(of: packages)
            let size = (try FileManager.default.attributesOfItem(atPath: packages.path)[.size] as? NSNumber)?.intValue ?? 0
            var release = ""
            for key in ["Origin", "Label", "Suite", "Codename"] {
                if let value = fields[key] { release += "\(key): \(value)\n" }
            }
            release += "Date: Mon, 07 Dec 2026 00:00:00 UTC\nSHA256:\n \(digest) \(size) Packages\n"
            try release.write(to: archive.appendingPathComponent("Release"), atomically: true, encoding: .utf8)
            sources.append("deb [trusted=yes] file:\(archive.path) ./")
        }
        guard !sources.isEmpty else { throw SandboxError(message: "\(listsDirectory.path) holds no package lists: run apt-get update on the host first") }
        try (sources.joined(separator: "\n") + "\n").write(to: root.appendingPathComponent("etc/apt/sources.list"), atomically: true, encoding: .utf8)
        let installed = try installed().count
        return HostMirror(installedPackages: installed, lists: sources.count)
    }

    private func replace(_ target: URL, with source: URL) throws {
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: source, to: target)
    }

    /// Origin, Label, Suite and Codename of the list's `InRelease` (or `Release`).
    static func releaseFields(_ lists: URL, prefix: String) -> [String: String] {
        var fields: [String: String] = [:]
        for name in ["\(prefix)_InRelease", "\(prefix)_Release"] {
            guard let data = FileManager.default.contents(atPath: lists.appendingPathComponent(name).path) else { continue }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                guard !line.hasPrefix(" "), let colon = line.firstIndex(of: ":") else { continue }
                let key = String(line[..<colon])
                if ["Origin", "Label", "Suite", "Codename"].contains(key), fields[key] == nil {
                    fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            break
        }
        return fields
    }

    static func sha256(of file: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
