import Foundation
import Testing

/// docs/security.md, "Listeners": handshake, request and idle deadlines, connection
/// caps and cipher suites of both listeners, against a real controller process.
@Suite("E2E: listener limits", .timeLimit(.minutes(10)))
struct ListenerLimitsTests {
    /// The first bytes of a TLS record holding a ClientHello: the TLS library waits for
    /// the rest of the 200-byte record, so a peer can feed it a byte at a time.
    static let clientHelloStart: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01, 0x00, 0x00, 0xC4, 0x03, 0x03]

    @Test("500 silent connections to each listener and a trickling client are closed by the handshake deadline; the API answers meanwhile; descriptors return to baseline")
    func silentConnections() async throws {
        ProcessFiles.raiseLimit(to: 8192)
        let timeout = 8.0
        try await withSandbox("silent") { sb in
            let controller = try await sb.startController(extraArguments: [
                "--handshake-timeout", "\(Int(timeout))",
                "--api-max-connections-per-address", "1000", "--agent-max-connections-per-address", "1000",
            ])
            let pid = controller.process.pid
            let health = try await sb.http("GET", controller.apiURL + "/v1/health", caPath: controller.caPath)
            try #require(health.status == 200, "\(health)")
            // Baseline once two readings agree (the health request's connection has gone).
            let baseline = try await eventually("a steady descriptor count", timeout: .seconds(10), every: .milliseconds(300)) { () -> Int? in
                let first = ProcessFiles.count(pid)
                try await Task.sleep(for: .milliseconds(300))
                return first == ProcessFiles.count(pid) ? first : nil
            }

            let connections = RawConnections()
            defer { connections.closeAll() }
            let start = ContinuousClock.now
            var silent: [Int32] = []
            for port in [controller.info.apiPort, controller.info.agentPort] {
                for _ in 0..<500 { silent.append(try connections.connect(port: port)) }
            }
            let tricklers = [try connections.connect(port: controller.info.apiPort), try connections.connect(port: controller.info.agentPort)]
            let all = silent + tricklers
            // All accepted and held (a few descriptors of the baseline may come and go meanwhile).
            var held = 0
            while (ContinuousClock.now - start).seconds < timeout - 1, held < baseline + all.count - 8 {
                held = ProcessFiles.count(pid)
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(held >= baseline + all.count - 8, "the controller holds \(held) descriptors, \(baseline) before \(all.count) connections")

            // The API keeps answering, with and without the admin token, while they are held.
            let during = try await sb.http("GET", controller.apiURL + "/v1/health", caPath: controller.caPath)
            #expect(during.status == 200, "\(during)")
            let list = try await sb.http("GET", controller.apiURL + "/v1/instances", caPath: controller.caPath, token: controller.adminToken)
            #expect(list.status == 200, "\(list)")
            let answeredAfter = (ContinuousClock.now - start).seconds
            #expect(!RawConnections.closedByPeer(all).contains(true), "the API answered while all connections were still held (\(answeredAfter) s)")

            // A byte a second to the tricklers; watch every connection close.
            var closedAt = [Double?](repeating: nil, count: all.count)
            var nextByte = ContinuousClock.now
            var bytesSent = 0
            while closedAt.contains(where: { $0 == nil }), (ContinuousClock.now - start).seconds < timeout + 8 {
                let now = ContinuousClock.now
                if now >= nextByte, bytesSent < Self.clientHelloStart.count {
                    for (index, fd) in tricklers.enumerated() where closedAt[silent.count + index] == nil {
                        RawConnections.send(fd, [Self.clientHelloStart[bytesSent]])
                    }
                    bytesSent += 1
                    nextByte = now + .seconds(1)
                }
                for (index, closed) in RawConnections.closedByPeer(all).enumerated() where closed && closedAt[index] == nil {
                    closedAt[index] = (ContinuousClock.now - start).seconds
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            let times = closedAt.compactMap { $0 }
            #expect(times.count == all.count, "\(all.count - times.count) connections still open \(timeout + 8) s after connecting")
            let earliest = times.min() ?? 0, latest = times.max() ?? 0
            print("E2E listener limits: \(times.count) silent/trickling connections closed between \(earliest) and \(latest) s (handshake timeout \(timeout) s)")
            #expect(earliest >= timeout - 0.5, "closed before the handshake deadline: \(earliest) s")
            #expect(latest <= timeout + 4, "closed too late: \(latest) s")
            let trickled = tricklers.indices.compactMap { closedAt[silent.count + $0] }
            #expect(trickled.count == 2 && trickled.allSatisfy { $0 <= timeout + 4 }, "a byte a second does not extend the handshake deadline: \(trickled)")

            connections.closeAll()
            try await eventually("the controller's descriptors to return to \(baseline)", timeout: .seconds(10)) {
                ProcessFiles.count(pid) <= baseline ? true : nil
            }
            let after = try await sb.http("GET", controller.apiURL + "/v1/health", caPath: controller.caPath)
            #expect(after.status == 200, "\(after)")
            #expect(controller.process.stderr.contains("the TLS handshake did not finish within \(Int(timeout)) s of connecting (--handshake-timeout)"),
                    "the reason is logged")
        }
    }

    @Test("after the handshake: a request head trickled a byte a second is closed by the head deadline, an idle API connection by the idle timeout")
    func requestDeadlines() async throws {
        try await withSandbox("head-deadline") { sb in
            let controller = try await sb.startController(extraArguments: [
                "--handshake-timeout", "30", "--request-head-timeout", "2", "--api-idle-timeout", "3",
            ])
            for (name, port) in [("api", controller.info.apiPort), ("agents", controller.info.agentPort)] {
                let trickle = try await sb.tlsProbe(port: port, mode: "trickle-head", caPath: controller.caPath)
                #expect(trickle.closedAfter >= 1.5 && trickle.closedAfter <= 6, "\(name): head trickle closed after \(trickle.closedAfter) s")
                #expect(trickle.response == nil, "\(name): \(trickle)")
            }
            let idle = try await sb.tlsProbe(port: controller.info.apiPort, mode: "idle", caPath: controller.caPath)
            #expect(idle.response?.hasPrefix("HTTP/1.1 200") == true, "\(idle)")
            #expect(idle.closedAfter >= 2.5 && idle.closedAfter <= 7, "an idle keep-alive connection closed after \(idle.closedAfter) s (--api-idle-timeout 3)")
            let stderr = controller.process.stderr
            #expect(stderr.contains("a request head was not complete within 2 s (--request-head-timeout)"))
            #expect(stderr.contains("no request came within 3 s of the last response (--api-idle-timeout)"))
        }
    }

    @Test("connection N+1 from one address, and one over the total, are closed at once; a closed connection frees its place")
    func connectionCaps() async throws {
        try await withSandbox("caps") { sb in
            let controller = try await sb.startController(extraArguments: [
                "--handshake-timeout", "60",
                "--api-max-connections", "6", "--api-max-connections-per-address", "4",
                "--agent-max-connections", "6", "--agent-max-connections-per-address", "4",
            ])
            let connections = RawConnections()
            defer { connections.closeAll() }
            for (name, port) in [("api", controller.info.apiPort), ("agent", controller.info.agentPort)] {
                var held: [Int32] = []
                for _ in 0..<4 { held.append(try connections.connect(port: port)) }
                try await expectHeld(held, "\(name): four from 127.0.0.1")

                let fifth = try connections.connect(port: port)
                try await expectClosedAtOnce(fifth, "\(name): the fifth from 127.0.0.1")
                connections.close(fifth)

                for _ in 0..<2 { held.append(try connections.connect(port: port, from: "127.0.0.2")) }
                try await expectHeld(held, "\(name): two more from 127.0.0.2")
                let overTotal = try connections.connect(port: port, from: "127.0.0.3")
                try await expectClosedAtOnce(overTotal, "\(name): the seventh in all")
                connections.close(overTotal)

                connections.close(held.removeFirst())
                let replacement = try await eventually("\(name): a place to free up", timeout: .seconds(5)) { () -> Int32? in
                    let fd = try connections.connect(port: port)
                    try await Task.sleep(for: .milliseconds(500))
                    if RawConnections.closedByPeer([fd]) == [false] { return fd }
                    connections.close(fd)
                    return nil
                }
                held.append(replacement)
                try await expectHeld(held, "\(name): after one closed")
                for fd in held { connections.close(fd) }
            }
            let stderr = controller.process.stderr
            for flag in ["api", "agent"] {
                #expect(stderr.contains("4 connections are open from 127.0.0.1, the most allowed from one address (--\(flag)-max-connections-per-address)"), "\(flag)")
                #expect(stderr.contains("6 connections are open, the most allowed (--\(flag)-max-connections)"), "\(flag)")
            }
            try await eventually("the API to answer once the connections are closed", timeout: .seconds(10)) {
                try await sb.http("GET", controller.apiURL + "/v1/health", caPath: controller.caPath).status == 200 ? true : nil
            }
        }
    }

    @Test("TLS 1.2 with only a CBC/SHA-1 suite is refused on both listeners; ECDHE-ECDSA AES-GCM and TLS 1.3 are accepted")
    func cipherSuites() async throws {
        try await withSandbox("ciphers") { sb in
            let controller = try await sb.startController()
            for port in [controller.info.apiPort, controller.info.agentPort] {
                let cbc = try await sb.openssl(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"], port: port)
                #expect(cbc.exitCode != 0, "a CBC suite must be refused on \(port): \(cbc)")
                let gcm = try await sb.openssl(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], port: port)
                #expect(gcm.exitCode == 0 && gcm.stdout.contains("ECDHE-ECDSA-AES128-GCM-SHA256"), "\(gcm)")
                let tls13 = try await sb.openssl(["-tls1_3"], port: port)
                #expect(tls13.exitCode == 0 && tls13.stdout.contains("TLSv1.3"), "\(tls13)")
            }
        }
    }

    @Test("serve refuses out-of-range listener flags with a message naming the flag")
    func flagValidation() async throws {
        try await withSandbox("listener-flags") { sb in
            for (arguments, message) in [
                (["--handshake-timeout", "0"], "--handshake-timeout must be more than 0"),
                (["--api-idle-timeout", "7200"], "--api-idle-timeout must be more than 0 and at most 3600"),
                (["--agent-max-connections", "0"], "--agent-max-connections must be between 1"),
                (["--api-max-connections", "10", "--api-max-connections-per-address", "20"], "must not exceed --api-max-connections"),
            ] {
                let result = try await sb.run("serve \(arguments[0])", binary: "tender-controller",
                                              ["serve", "--data-dir", sb.url("data").path, "--agent-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"] + arguments)
                #expect(result.exitCode != 0, "\(result)")
                #expect(result.stderr.contains(message), "\(result.stderr)")
            }
        }
    }

    private func expectHeld(_ fds: [Int32], _ what: String) async throws {
        try await Task.sleep(for: .milliseconds(500))
        #expect(!RawConnections.closedByPeer(fds).contains(true), "\(what) must stay open")
    }

    private func expectClosedAtOnce(_ fd: Int32, _ what: String) async throws {
        let start = ContinuousClock.now
        try await eventually("\(what) to be closed", timeout: .seconds(2), every: .milliseconds(20)) {
            RawConnections.closedByPeer([fd]) == [true] ? true : nil
        }
        #expect((ContinuousClock.now - start).seconds < 1.5, "\(what): closed at once, not by a deadline")
    }
}

// MARK: - TLS probes (python3's ssl; openssl s_client)

struct TLSProbeResult: Decodable, Sendable {
    /// Seconds from the end of the handshake until the server closed the connection.
    let closedAfter: Double
    /// The first line the server sent, if any.
    let response: String?
}

extension Sandbox {
    /// Connects over TLS and either trickles a request head (`trickle-head`: the request
    /// line, then a byte a second) or sends one full request and stays silent (`idle`).
    func tlsProbe(port: Int, mode: String, caPath: String) async throws -> TLSProbeResult {
        let script = url("tls_probe.py")
        if !FileManager.default.fileExists(atPath: script.path) {
            try Data(tlsProbeScript.utf8).write(to: script)
        }
        let result = try await run("tls probe \(mode)", binary: "/usr/bin/env", ["python3", script.path, String(port), mode, caPath], timeout: .seconds(40))
        guard result.exitCode == 0 else { throw E2EError("tls probe failed:\n\(result)") }
        return try result.decode(TLSProbeResult.self)
    }

    /// `openssl s_client` to 127.0.0.1:`port` with `arguments`; stdin is empty, so it
    /// ends right after the handshake (exit 0) or its failure (exit 1).
    func openssl(_ arguments: [String], port: Int) async throws -> CommandResult {
        try await run("openssl s_client \(arguments.joined(separator: " "))", binary: "/usr/bin/env",
                      ["openssl", "s_client", "-connect", "127.0.0.1:\(port)"] + arguments, timeout: .seconds(20))
    }
}

private let tlsProbeScript = #"""
import json, socket, ssl, sys, time

port, mode, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(cafile=ca)
context.check_hostname = False
conn = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="127.0.0.1")
start = time.monotonic()
received = b""
if mode == "trickle-head":
    conn.sendall(b"GET /v1/health HTTP/1.1\r\nHost: probe\r\nX-Slow: ")
else:
    conn.sendall(b"GET /v1/health HTTP/1.1\r\nHost: probe\r\n\r\n")
conn.settimeout(1)
while time.monotonic() - start < 30:
    try:
        data = conn.recv(4096)
        if not data:
            break
        received += data
    except socket.timeout:
        if mode == "trickle-head":
            try:
                conn.sendall(b"a")
            except OSError:
                break
    except (OSError, ssl.SSLError):
        break
closed_after = time.monotonic() - start
conn.close()
first = received.split(b"\r\n", 1)[0].decode("latin-1") if received else None
print(json.dumps({"closedAfter": closed_after, "response": first}))
"""#
