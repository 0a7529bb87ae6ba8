import Foundation
import NIOCore
import NIOPosix
import TenderDocuments
import TenderWire

/// Everything `tender-controller serve` can be told, with the documented defaults (`tender-controller serve --help`, docs/security.md).
public struct ControllerConfiguration: Sendable {
    public var dataDirectory: URL = URL(fileURLWithPath: "/var/lib/tender")
    public var agentListen: HostPort = HostPort(host: "0.0.0.0", port: 8443)
    public var apiListen: HostPort = HostPort(host: "127.0.0.1", port: 8444)
    /// nil: the embedded SQLite file in the data dir.
    public var databaseURL: String?
    /// Names put into the server certificate; empty means hostname, localhost, 127.0.0.1.
    public var names: [String] = []
    /// Agents send a heartbeat this often …
    public var heartbeatInterval: Double = 2
    /// … and a channel silent this long is closed and the instance shown ConnectionLost.
    public var heartbeatTimeout: Double = 7
    /// How often, in seconds, this replica looks for instances deregistered on other
    /// replicas (several controllers on one database) to close the channels it holds for
    /// them. A deregistration made here closes the instance's channel at once.
    public var deregistrationCheckInterval: Double = PresenceMonitor.defaultDeregistrationCheckSeconds
    /// Lifetime of the client certificates issued to agents (renewed over the channel).
    public var clientCertificateValidity: TimeInterval = CertificateAuthority.defaultClientCertificateValidity
    /// What one agent connection may send and leave unread (docs/security.md).
    public var agentChannel = AgentChannelLimits()
    /// A started invocation with no result this long after its steps' timeouts ends TimedOut.
    public var executionDeadlineMargin: TimeInterval = Dispatcher.defaultExecutionMargin
    /// Running invocations of a cancelled command that do not confirm within this end Cancelled.
    public var cancelGrace: TimeInterval = Dispatcher.defaultCancelGrace
    /// The most output kept per stream of one invocation; the rest is dropped with a marker.
    public var maxOutputBytes: Int = OutputStore.defaultMaxStreamBytes

    /// Handshake, request and idle deadlines and connection caps of each listener (docs/security.md).
    /// The step actions documents may use. Embedders (and tests) that give their
    /// agents extra runners register the actions here too.
    public var stepActions = StepActionCatalog.standard
    public var agentConnections = ConnectionLimits.agents
    public var apiConnections = ConnectionLimits.api

    public init() {}

    public var effectiveNames: [String] {
        if !names.isEmpty { return names }
        // Operators reach the API by any of the host's addresses; the CLI checks the name.
        let addresses = ((try? System.enumerateDevices()) ?? []).compactMap { $0.address?.ipAddress }
            .filter { !$0.hasPrefix("127.") && $0 != "::1" && !$0.lowercased().hasPrefix("fe80") }
        var names = [ProcessInfo.processInfo.hostName, "localhost", "127.0.0.1"] + addresses
        names = names.filter { !$0.isEmpty }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}

/// `HOST:PORT` as given on the command line (IPv6 as `[::1]:8443`).
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        let invalid = TenderError.validation("'\(text)' is not HOST:PORT (for example 0.0.0.0:8443 or [::1]:8443)")
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { throw invalid }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw invalid }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        if hostPart.isEmpty { hostPart = "0.0.0.0" }
        guard let port = Int(portPart), (0...65535).contains(port) else { throw invalid }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
