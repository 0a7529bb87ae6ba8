#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TenderWire

/// `https://HOST:PORT` of the controller's agent listener.
public struct ControllerURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(parsing text: String) throws {
        guard let components = URLComponents(string: text), components.scheme == "https", let host = components.host, !host.isEmpty else {
            throw TenderError.validation("--controller must be https://HOST:PORT, got '\(text)'")
        }
        guard components.path.isEmpty || components.path == "/" else {
            throw TenderError.validation("--controller must not have a path, got '\(text)'")
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 8443
    }

    public var description: String { host.contains(":") ? "https://[\(host)]:\(port)" : "https://\(host):\(port)" }
}

/// The proxy to tunnel through, from `HTTPS_PROXY`/`https_proxy`, honouring `NO_PROXY`.
public struct ProxySettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// `user:password` for Proxy-Authorization: Basic, if the URL carried it.
    public var credentials: String?

    public static func fromEnvironment(for target: ControllerURL, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ProxySettings? {
        guard let raw = environment["HTTPS_PROXY"] ?? environment["https_proxy"], !raw.isEmpty else { return nil }
        let noProxy = (environment["NO_PROXY"] ?? environment["no_proxy"] ?? "").split(separator: ",").map { $0.trimmingBlanks().lowercased() }
        let host = target.host.lowercased()
        for entry in noProxy where !entry.isEmpty {
            if entry == "*" || host == entry || host.hasSuffix(entry.hasPrefix(".") ? entry : "." + entry) { return nil }
        }
        let text = raw.contains("://") ? raw : "http://" + raw
        guard let components = URLComponents(string: text), let proxyHost = components.host, !proxyHost.isEmpty else {
            throw TenderError.validation("HTTPS_PROXY is not a proxy URL: '\(Redact.url(raw))'")
        }
        var credentials: String?
        if let user = components.user {
            credentials = user + ":" + (components.password ?? "")
        }
        return ProxySettings(host: proxyHost, port: components.port ?? 3128, credentials: credentials)
    }
}
