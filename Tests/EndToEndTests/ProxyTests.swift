import Foundation
import Testing

/// Agents behind an HTTP proxy: registration and the channel go through `CONNECT`
/// when `HTTPS_PROXY` is set, and a proxy that refuses is reported clearly.
@Suite("E2E: HTTPS proxy")
struct ProxyTests {
    /// A minimal CONNECT proxy (python3, like the raw WebSocket client): logs every
    /// CONNECT target to a file and relays bytes; `--refuse` answers 403 instead.
    static let proxyScript = #"""
    import socket, sys, threading, select
    log_path, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "relay")
    server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0)); server.listen(64)
    print(server.getsockname()[1], flush=True)
    def pipe(a, b):
        try:
            while True:
                r, _, _ = select.select([a, b], [], [], 60)
                if not r: return
                for s in r:
                    data = s.recv(65536)
                    if not data: return
                    (b if s is a else a).sendall(data)
        except OSError: pass
        finally:
            a.close(); b.close()
    def handle(client):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk: client.close(); return
            head += chunk
        line = head.split(b"\r\n")[0].decode()
        with open(log_path, "a") as f: f.write(line + "\n")
        method, target, _ = line.split(" ", 2)
        if method != "CONNECT" or mode == "refuse":
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"); client.close(); return
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pipe(client, upstream)
    while True:
        c, _ = server.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()
    """#

    func startProxy(_ sb: Sandbox, label: String, refuse: Bool = false) async throws -> (process: ManagedProcess, port: Int, log: URL) {
        let script = sb.url("\(label).py")
        try Self.proxyScript.write(to: script, atomically: true, encoding: .utf8)
        let log = sb.url("\(label).log")
        let process = try sb.launch(label, binary: "/usr/bin/env", ["python3", script.path, log.path] + (refuse ? ["refuse"] : []))
        let port = try await eventually("\(label) to print its port", timeout: .seconds(10)) {
            Int(process.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return (process, port, log)
    }

    @Test("registration and the channel go through HTTPS_PROXY; a refusing proxy is named in the error")
    func agentUsesTheProxy() async throws {
        try await withSandbox("proxy") { sb in
            let controller = try await sb.startController()
            let activation = try await sb.createActivation(controller, limit: 2)
            let proxy = try await startProxy(sb, label: "proxy")
            let env = ["HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)"]
            let stateDir = sb.agentStateDir("proxied")
            let register = try await sb.run("register via proxy", binary: "tender-agent", [
                "register", "--controller", controller.agentURL, "--activation-id", activation.activationId,
                "--activation-code", activation.activationCode ?? "", "--ca-fingerprint", activation.caFingerprint,
                "--state-dir", stateDir.path, "-o", "json",
            ], environment: env)
            #expect(register.exitCode == 0, "\(register)")
            struct Out: Decodable { let instanceId: String }
            let id = try register.decode(Out.self).instanceId

            _ = try sb.launch("agent via proxy", binary: "tender-agent", ["run", "--state-dir", stateDir.path], environment: env)
            _ = try await sb.waitFor("Online", [id], on: controller, timeout: .seconds(30))
            let lines = try String(contentsOf: proxy.log, encoding: .utf8).split(separator: "\n")
            let expected = "CONNECT 127.0.0.1:\(controller.info.agentPort) HTTP/1.1"
            // CA fetch + registration + channel.
            #expect(lines.filter { $0 == expected }.count >= 3, "proxy saw: \(lines)")

            // NO_PROXY wins over HTTPS_PROXY.
            let direct = try await sb.run("register bypassing proxy", binary: "tender-agent", [
                "register", "--controller", controller.agentURL, "--activation-id", activation.activationId,
                "--activation-code", activation.activationCode ?? "", "--ca-fingerprint", activation.caFingerprint,
                "--state-dir", sb.agentStateDir("direct").path,
            ], environment: ["HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)", "NO_PROXY": "127.0.0.1"])
            #expect(direct.exitCode == 0, "\(direct)")
            let after = try String(contentsOf: proxy.log, encoding: .utf8).split(separator: "\n")
            #expect(after.count == lines.count, "a registration with NO_PROXY matching must not use the proxy: \(after)")

            // A proxy that refuses CONNECT: registration fails and says so.
            let refusing = try await startProxy(sb, label: "refusing-proxy", refuse: true)
            let refused = try await sb.run("register via refusing proxy", binary: "tender-agent", [
                "register", "--controller", controller.agentURL, "--activation-id", activation.activationId,
                "--activation-code", activation.activationCode ?? "", "--ca-fingerprint", activation.caFingerprint,
                "--state-dir", sb.agentStateDir("refused").path,
            ], environment: ["HTTPS_PROXY": "http://127.0.0.1:\(refusing.port)"])
            #expect(refused.exitCode != 0)
            #expect(refused.stderr.contains("proxy refused CONNECT"), "\(refused)")
        }
    }
}
