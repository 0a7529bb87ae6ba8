#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderPatching
import TenderWire

/// The system a patch run works on: `/` or, with `--package-root`, an image or a
/// test sandbox. Every path a backend reads or writes goes through it.
struct PackageRoot: Sendable, Equatable {
    let path: String

    init(_ path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    var isHostRoot: Bool { path == "/" }

    /// `relative` (written as an absolute path on the managed system) under this root.
    func file(_ relative: String) -> String {
        isHostRoot ? relative : path + relative
    }

    func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: file(relative))
    }

    /// The small file `relative` (`os-release`, `reboot-required.pkgs`, a
    /// needs-restarting list), or nil when it is missing or over `limit` bytes. At
    /// most `limit + 1` bytes are read, without blocking, so a root whose file is
    /// `/dev/zero` or a FIFO costs nothing.
    func read(_ relative: String, limit: Int) -> String? {
        guard let bytes = SpoolFileIO.prefix(of: URL(fileURLWithPath: file(relative)), maxBytes: limit + 1, nonBlocking: true), bytes.count <= limit else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The root's `/etc/os-release` (or `/usr/lib/os-release`): which system it is.
    func operatingSystem() throws -> OSRelease {
        for candidate in ["/etc/os-release", "/usr/lib/os-release"] {
            guard let text = read(candidate, limit: 64 * 1024) else { continue }
            return OSRelease(text)
        }
        throw PatchRunError(.unsupportedSystem, "\(file("/etc/os-release")) is missing: cannot tell which system \(path) is")
    }
}

/// The few `os-release` fields a patch run needs.
struct OSRelease: Sendable, Equatable {
    var id: String
    var idLike: [String]
    var versionID: String?

    init(_ text: String) {
        let fields = HostInfo.parseOSRelease(text)
        id = fields["ID"] ?? "linux"
        idLike = (fields["ID_LIKE"] ?? "").split(separator: " ").map(String.init)
        versionID = fields["VERSION_ID"]
    }

    var operatingSystem: PatchOperatingSystem? {
        PatchOperatingSystem.from(osReleaseID: id, idLike: idLike)
    }

    /// SSM's product name: `Debian12`, `Ubuntu22.04`, `RockyLinux9.3`, `AmazonLinux2023`.
    var product: String {
        let names = ["debian": "Debian", "ubuntu": "Ubuntu", "rhel": "RedhatEnterpriseLinux", "rocky": "RockyLinux", "almalinux": "AlmaLinux",
                     "ol": "OracleLinux", "centos": "CentOS", "fedora": "Fedora", "amzn": "AmazonLinux"]
        return (names[id] ?? id) + (versionID ?? "")
    }
}
