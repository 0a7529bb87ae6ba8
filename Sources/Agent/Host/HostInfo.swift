#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOPosix

/// Facts about the managed host reported in hello: OS from `/etc/os-release`,
/// hostname and IP addresses (routable ones first, loopback and link-local left out).
public struct HostInfo: Sendable, Equatable {
    public var platformName: String
    public var platformVersion: String
    public var hostname: String
    public var ipAddresses: [String]
    /// `ID` and `ID_LIKE` of the package root's os-release (`tender-agent run
    /// --package-root`): the system patch runs act on.
    public var platformID: String? = nil
    public var platformIDLike: String? = nil

    /// - Parameter packageRoot: the root patch runs act on; its os-release gives `platformID`.
    public static func current(osReleasePath: String = "/etc/os-release", packageRoot: String = "/") -> HostInfo {
        let release = (try? String(contentsOfFile: osReleasePath, encoding: .utf8)).map(parseOSRelease) ?? [:]
        let rootRelease = packageRoot == "/" ? release
            : ["/etc/os-release", "/usr/lib/os-release"].lazy.compactMap { try? String(contentsOfFile: packageRoot + $0, encoding: .utf8) }.first.map(parseOSRelease) ?? [:]
        return HostInfo(
            platformName: release["NAME"] ?? "Linux",
            platformVersion: release["VERSION_ID"] ?? release["VERSION"] ?? "unknown",
            hostname: ProcessInfo.processInfo.hostName,
            ipAddresses: addresses(),
            platformID: rootRelease["ID"],
            platformIDLike: rootRelease["ID_LIKE"]
        )
    }

    /// Parses os-release's `KEY=value` lines, with optional single or double quotes.
    public static func parseOSRelease(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingBlanks()
            guard !trimmed.hasPrefix("#"), let eq = trimmed.firstIndex(of: "=") else { continue }
            var value = String(trimmed[trimmed.index(after: eq)...])
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            out[String(trimmed[..<eq])] = value.replacing("\\\"", with: "\"")
        }
        return out
    }

    static func addresses() -> [String] {
        guard let devices = try? System.enumerateDevices() else { return [] }
        var v4: [String] = [], v6: [String] = []
        for device in devices {
            guard let address = device.address, let ip = address.ipAddress else { continue }
            if ip.hasPrefix("127.") || ip == "::1" || ip.lowercased().hasPrefix("fe80") { continue }
            if case .v4 = address { v4.append(ip) } else { v6.append(ip) }
        }
        var seen = Set<String>()
        return (v4 + v6).filter { seen.insert($0).inserted }
    }
}
