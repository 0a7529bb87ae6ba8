import Foundation
import Logging
import Testing
@testable import Agent
@testable import TenderWire

@Suite("Backoff")
struct BackoffTests {
    @Test func growsExponentiallyToTheCap() {
        var backoff = Backoff(base: 0.5, cap: 30)
        var ceilings: [Double] = []
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10 {
            let ceiling = backoff.ceiling
            let wait = backoff.next(using: &generator)
            #expect(wait >= 0 && wait <= ceiling)
            ceilings.append(ceiling)
        }
        #expect(Array(ceilings.prefix(4)) == [0.5, 1, 2, 4])
        #expect(ceilings.last == 30)
        backoff.reset()
        #expect(backoff.ceiling == 0.5)
    }

    @Test func fullJitterSpreadsAFleet() {
        // 1,000 agents that lost the controller at once, on their 6th attempt (ceiling 16 s):
        // full jitter must spread them over the whole window, not bunch them at its end.
        var waits: [Double] = []
        for _ in 0..<1000 {
            var backoff = Backoff(base: 0.5, cap: 30)
            for _ in 0..<5 { _ = backoff.next() }
            waits.append(backoff.next())
        }
        let firstQuarter = waits.filter { $0 < 4 }.count
        let lastQuarter = waits.filter { $0 >= 12 }.count
        #expect(firstQuarter > 150 && firstQuarter < 350, "\(firstQuarter) of 1000 in the first quarter")
        #expect(lastQuarter > 150 && lastQuarter < 350, "\(lastQuarter) of 1000 in the last quarter")
    }

    @Test("the agent reconnects with the production backoff: at most 0.5 s first, doubling to 30 s")
    func productionDefaults() {
        var backoff = Backoff()
        var ceilings: [Double] = []
        for _ in 0..<9 {
            ceilings.append(backoff.ceiling)
            _ = backoff.next()
        }
        #expect(ceilings == [0.5, 1, 2, 4, 8, 16, 30, 30, 30])
        // What `tender-agent run` builds its backoff from.
        let runner = AgentRunner(state: AgentStateDirectory("/nonexistent-tender-state"), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(runner.backoffBase == 0.5)
        #expect(runner.backoffCap == 30)
    }

    @Test("a session longer than 30 s starts the backoff over; a shorter one does not")
    func aStableSessionResetsTheBackoff() {
        var generator = SystemRandomNumberGenerator()
        var backoff = Backoff()
        for _ in 0..<5 { _ = backoff.next() }
        #expect(backoff.ceiling == 16)
        // A flapping connection keeps backing off.
        _ = backoff.next(afterSessionOf: .seconds(29), using: &generator)
        #expect(backoff.attempt == 6)
        _ = backoff.next(afterSessionOf: .seconds(30), using: &generator)
        #expect(backoff.attempt == 7, "exactly 30 s is not yet a stable session")
        #expect(backoff.ceiling == 30)
        // A session that held starts over: the wait is the first attempt's.
        let wait = backoff.next(afterSessionOf: .seconds(30) + .milliseconds(1), using: &generator)
        #expect(wait <= 0.5)
        #expect(backoff.attempt == 1)
        _ = backoff.next(afterSessionOf: .seconds(3600), using: &generator)
        #expect(backoff.attempt == 1)
    }
}

@Suite("Host facts")
struct HostInfoTests {
    @Test func parsesOSRelease() {
        let text = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        NAME="Debian GNU/Linux"
        VERSION_ID="12"
        # comment
        ID=debian
        HOME_URL='https://www.debian.org/'
        """
        let fields = HostInfo.parseOSRelease(text)
        #expect(fields["NAME"] == "Debian GNU/Linux")
        #expect(fields["VERSION_ID"] == "12")
        #expect(fields["ID"] == "debian")
        #expect(fields["HOME_URL"] == "https://www.debian.org/")
        #expect(fields["# comment"] == nil)
    }

    @Test func currentHostHasANameAndNoLoopbackAddresses() {
        let host = HostInfo.current()
        #expect(!host.hostname.isEmpty)
        #expect(!host.ipAddresses.contains { $0.hasPrefix("127.") || $0 == "::1" })
    }
}

@Suite("Controller URL and proxy settings")
struct TransportSettingsTests {
    @Test func parsesControllerURLs() throws {
        #expect(try ControllerURL(parsing: "https://ctl.example:9443") == ControllerURL(parsing: "https://ctl.example:9443/"))
        let url = try ControllerURL(parsing: "https://ctl.example")
        #expect(url.port == 8443)
        let v6 = try ControllerURL(parsing: "https://[::1]:8443")
        #expect(v6.host == "::1")
        #expect(v6.description == "https://[::1]:8443")
        for bad in ["http://ctl:8443", "ctl:8443", "https://", "https://ctl:8443/v1"] {
            #expect(throws: TenderError.self, "\(bad)") { try ControllerURL(parsing: bad) }
        }
    }

    @Test func readsHTTPSProxyAndHonoursNoProxy() throws {
        let target = try ControllerURL(parsing: "https://ctl.corp.example:8443")
        let proxy = try #require(try ProxySettings.fromEnvironment(for: target, environment: ["HTTPS_PROXY": "http://user:pw@proxy.corp:3128"]))
        #expect(proxy.host == "proxy.corp")
        #expect(proxy.port == 3128)
        #expect(proxy.credentials == "user:pw")
        #expect(try ProxySettings.fromEnvironment(for: target, environment: ["https_proxy": "proxy:8080"])?.port == 8080)
        #expect(try ProxySettings.fromEnvironment(for: target, environment: ["HTTPS_PROXY": "proxy:8080", "NO_PROXY": "localhost,.corp.example"]) == nil)
        #expect(try ProxySettings.fromEnvironment(for: target, environment: ["HTTPS_PROXY": "proxy:8080", "NO_PROXY": "*"]) == nil)
        #expect(try ProxySettings.fromEnvironment(for: target, environment: ["HTTPS_PROXY": "proxy:8080", "NO_PROXY": "other.example"]) != nil)
        #expect(try ProxySettings.fromEnvironment(for: target, environment: [:]) == nil)
    }

    @Test func base64MatchesFoundation() {
        for text in ["", "a", "ab", "abc", "user:password", "üñí:☃"] {
            #expect(Base64.encode(Array(text.utf8)) == Data(text.utf8).base64EncodedString())
        }
    }
}

@Suite("Agent state directory")
struct AgentStateTests {
    @Test func identityIsSavedWithPrivatePermissions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-agent-state-\(Identifiers.randomHex(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = AgentStateDirectory(dir.path)
        #expect(!state.isRegistered)
        #expect(throws: TenderError.self) { try state.loadIdentity() }

        let identity = AgentIdentity(instanceId: "mi-0123456789abcdef0", controller: "https://ctl:8443", caFingerprint: "sha256:" + String(repeating: "0", count: 64), registeredAt: Date(timeIntervalSince1970: 1_795_000_000))
        let key = P256Key()
        try state.save(identity: identity, key: key, certificatePEM: "CERT", caPEM: "CA")
        #expect(state.isRegistered)
        #expect(try state.loadIdentity() == identity)
        #expect(try state.loadKey().rawRepresentation == key.rawRepresentation)
        for (file, mode) in [("agent.key", 0o600), ("agent.pem", 0o600), ("identity.json", 0o600)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(file).path)
            #expect((attributes[.posixPermissions] as? Int) == mode, "\(file)")
        }
        let dirMode = try FileManager.default.attributesOfItem(atPath: dir.path)[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        try state.clear()
        #expect(!state.isRegistered)
    }
}

import Crypto
typealias P256Key = P256.Signing.PrivateKey
