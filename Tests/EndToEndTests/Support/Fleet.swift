import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Helpers that know Tender: controllers, agents, the `tender` CLI and raw HTTPS.

// MARK: - JSON models (the documented camelCase contract of the API and the CLI's -o json, decoded independently of the product's types)

struct ListenInfo: Decodable, Sendable {
    let agentPort: Int
    let apiPort: Int
    let caFingerprint: String
    let pid: Int32
}

struct Activation: Decodable, Sendable, Equatable {
    let activationId: String
    let activationCode: String?
    let caFingerprint: String
    let expiresAt: String?
    let expired: Bool?
    let registrationLimit: Int?
    let registrationsCount: Int?
    let tags: [String: String]?
}

struct Instance: Decodable, Sendable, Equatable {
    let instanceId: String
    let name: String
    let pingStatus: String
    let lastPingAt: String?
    let agentVersion: String?
    let platformName: String?
    let ipAddress: String?
    let tags: [String: String]
}

struct CreatedToken: Decodable, Sendable {
    let token: String
    let role: String?
}

struct APIErrorBody: Decodable, Sendable {
    struct Inner: Decodable, Sendable {
        let code: String
        let message: String
    }
    let error: Inner
}

struct AgentStatusOutput: Decodable, Sendable {
    let instanceId: String
    let controller: String
    let connection: String
    let since: String?
    let lastError: String?
}

enum Heartbeat: Sendable {
    /// The product's defaults (interval 2 s, timeout 7 s): no flags passed.
    case defaults
    /// `--heartbeat-interval 1 --heartbeat-timeout 4`.
    case fast

    var arguments: [String] {
        switch self {
        case .defaults: return []
        case .fast: return ["--heartbeat-interval", "1", "--heartbeat-timeout", "4"]
        }
    }
}

// MARK: - Controller

final class ControllerHandle: Sendable {
    let label: String
    let sandbox: Sandbox
    let dataDir: URL
    let heartbeat: Heartbeat
    let extraArguments: [String]
    /// The current run: replaced by `restart()`.
    private let current: Mutex<(process: ManagedProcess, info: ListenInfo, generation: Int)>

    var process: ManagedProcess { current.withLock { $0.process } }
    var info: ListenInfo { current.withLock { $0.info } }

    fileprivate init(label: String, sandbox: Sandbox, dataDir: URL, heartbeat: Heartbeat, extraArguments: [String], process: ManagedProcess, info: ListenInfo) {
        self.extraArguments = extraArguments
        self.label = label
        self.sandbox = sandbox
        self.dataDir = dataDir
        self.heartbeat = heartbeat
        self.current = Mutex((process, info, 1))
    }

    var agentURL: String { "https://127.0.0.1:\(info.agentPort)" }
    var apiURL: String { "https://127.0.0.1:\(info.apiPort)" }
    var caPath: String { dataDir.appendingPathComponent("ca.pem").path }
    var tokenPath: String { dataDir.appendingPathComponent("admin.token").path }
    var listenFile: URL { dataDir.appendingPathComponent("listen.json") }
    var adminToken: String {
        ((try? String(contentsOf: URL(fileURLWithPath: tokenPath), encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SIGTERM (graceful) and wait for a clean exit.
    func terminate(timeout: Duration = .seconds(20)) async throws -> Int32 {
        process.signal(SIGTERM)
        guard let code = try await process.waitForExit(timeout: timeout) else {
            throw E2EError("\(process.label) did not stop within \(timeout) of SIGTERM")
        }
        return code
    }

    func kill9() async throws { try await process.kill9() }

    /// Starts the controller again on the same data dir and the same agent port
    /// (agents keep the agent URL they registered with); the API port is new.
    func restart() async throws {
        guard !process.isRunning else { throw E2EError("\(label) is still running; stop it before restart()") }
        let generation = current.withLock { $0.generation } + 1
        let (process, info) = try await sandbox.spawnController(
            label: "\(label)-run\(generation)", dataDir: dataDir, agentPort: info.agentPort, heartbeat: heartbeat, extraArguments: extraArguments)
        current.withLock { $0 = (process, info, generation) }
    }
}

extension Sandbox {
    /// A controller started with `controllerFlags` and `count` registered, Online agents.
    func startFleet(count: Int, heartbeat: Heartbeat = .fast, controllerFlags: [String] = []) async throws -> (ControllerHandle, [AgentHandle], [ManagedProcess]) {
        let controller = try await startController(heartbeat: heartbeat, extraArguments: controllerFlags)
        let activation = try await createActivation(controller, limit: count)
        var agents: [AgentHandle] = []
        var runs: [ManagedProcess] = []
        for i in 0..<count {
            let agent = try await registerAgent("agent\(i)", with: controller, activation: activation)
            agents.append(agent)
            runs.append(try startAgent(agent))
        }
        _ = try await waitFor("Online", agents.map(\.instanceID), on: controller, timeout: .seconds(30))
        return (controller, agents, runs)
    }

    func startController(_ label: String = "controller", heartbeat: Heartbeat = .fast, extraArguments: [String] = []) async throws -> ControllerHandle {
        let dataDir = url("\(label)-data")
        let (process, info) = try await spawnController(label: label, dataDir: dataDir, agentPort: 0, heartbeat: heartbeat, extraArguments: extraArguments)
        return ControllerHandle(label: label, sandbox: self, dataDir: dataDir, heartbeat: heartbeat, extraArguments: extraArguments, process: process, info: info)
    }

    func controllerArguments(dataDir: URL, agentPort: Int, heartbeat: Heartbeat, extraArguments: [String] = []) -> [String] {
        ["serve", "--data-dir", dataDir.path, "--agent-listen", "127.0.0.1:\(agentPort)", "--api-listen", "127.0.0.1:0"] + heartbeat.arguments + extraArguments
    }

    /// Starts `tender-controller serve` and waits for the listen.json written by *this*
    /// process (after a kill -9 a stale one from the previous process may still be there).
    fileprivate func spawnController(label: String, dataDir: URL, agentPort: Int, heartbeat: Heartbeat, extraArguments: [String] = []) async throws -> (ManagedProcess, ListenInfo) {
        let process = try launch(label, binary: "tender-controller", controllerArguments(dataDir: dataDir, agentPort: agentPort, heartbeat: heartbeat, extraArguments: extraArguments))
        let listenFile = dataDir.appendingPathComponent("listen.json")
        let info: ListenInfo = try await eventually("\(label) to write \(listenFile.path)", timeout: .seconds(45), every: .milliseconds(100)) {
            if !process.isRunning {
                throw E2EError("\(label) exited with \(process.exitCode ?? -1) before listening:\n\(process.stderr)")
            }
            guard let data = try? Data(contentsOf: listenFile),
                  let info = try? JSONDecoder().decode(ListenInfo.self, from: data),
                  info.pid == process.pid else { return nil }
            return info
        }
        return (process, info)
    }
}

// MARK: - tender CLI

enum TokenChoice: Sendable {
    case adminFile
    case token(String)
    case none
}

extension Sandbox {
    /// Runs `tender --addr ... --ca-cert ... [--token-file|--token] -o json ARGS`.
    func tender(_ controller: ControllerHandle, _ arguments: [String], token: TokenChoice = .adminFile, json: Bool = true) async throws -> CommandResult {
        var globals = ["--addr", controller.apiURL, "--ca-cert", controller.caPath]
        switch token {
        case .adminFile: globals += ["--token-file", controller.tokenPath]
        case .token(let value): globals += ["--token", value]
        case .none: break
        }
        if json { globals += ["-o", "json"] }
        let label = "tender " + arguments.prefix(2).joined(separator: " ")
        return try await run(label, binary: "tender", globals + arguments)
    }

    /// Like `tender(...)` but requires exit 0 and decodes the JSON output.
    func tenderJSON<T: Decodable>(_ controller: ControllerHandle, _ arguments: [String], as type: T.Type, token: TokenChoice = .adminFile) async throws -> T {
        let result = try await tender(controller, arguments, token: token)
        guard result.exitCode == 0 else { throw E2EError("expected exit 0 from `tender \(arguments.joined(separator: " "))`:\n\(result)") }
        return try result.decode(T.self)
    }

    func createActivation(_ controller: ControllerHandle, limit: Int, extra: [String] = []) async throws -> Activation {
        let activation = try await tenderJSON(controller, ["activation", "create", "--limit", String(limit)] + extra, as: Activation.self)
        guard activation.activationCode?.isEmpty == false else { throw E2EError("activation create returned no activationCode") }
        return activation
    }

    func instances(_ controller: ControllerHandle) async throws -> [Instance] {
        try await tenderJSON(controller, ["instance", "list"], as: [Instance].self)
    }

    func pingStatus(_ controller: ControllerHandle, _ instanceID: String) async throws -> String? {
        try await instances(controller).first { $0.instanceId == instanceID }?.pingStatus
    }

    /// Waits until every id in `ids` shows `status` in `tender instance list`.
    @discardableResult
    func waitFor(_ status: String, _ ids: [String], on controller: ControllerHandle, timeout: Duration) async throws -> [Instance] {
        try await eventually("\(ids) to be \(status) on \(controller.label)", timeout: timeout) {
            let list = try await instances(controller)
            let matching = list.filter { ids.contains($0.instanceId) && $0.pingStatus == status }
            return matching.count == ids.count ? list : nil
        }
    }
}

// MARK: - Agents

struct AgentHandle: Sendable {
    let label: String
    let stateDir: URL
    let instanceID: String
    var identityFile: URL { stateDir.appendingPathComponent("identity.json") }
}

extension Sandbox {
    func agentStateDir(_ label: String) -> URL { url("\(label)-state") }

    /// `tender-agent register ... -o json`, returning the raw result (refusals are results too).
    func registerRaw(_ label: String, controllerURL: String, activationID: String, code: String, fingerprint: String, stateDir: URL, extra: [String] = []) async throws -> CommandResult {
        try await run("register \(label)", binary: "tender-agent", [
            "register", "--controller", controllerURL, "--activation-id", activationID, "--activation-code", code,
            "--ca-fingerprint", fingerprint, "--state-dir", stateDir.path, "-o", "json",
        ] + extra)
    }

    /// Registers a new agent and requires success.
    func registerAgent(_ label: String, with controller: ControllerHandle, activation: Activation) async throws -> AgentHandle {
        let stateDir = agentStateDir(label)
        let result = try await registerRaw(label, controllerURL: controller.agentURL, activationID: activation.activationId,
                                           code: activation.activationCode ?? "", fingerprint: activation.caFingerprint, stateDir: stateDir)
        guard result.exitCode == 0 else { throw E2EError("registration of \(label) failed:\n\(result)") }
        struct Out: Decodable { let instanceId: String }
        let id = try result.decode(Out.self).instanceId
        guard id.hasPrefix("mi-"), id.count == 20 else { throw E2EError("instance id \(id) is not mi- + 17 hex digits") }
        return AgentHandle(label: label, stateDir: stateDir, instanceID: id)
    }

    /// `tender-agent run --state-dir DIR` in the background.
    func startAgent(_ agent: AgentHandle, label: String? = nil, extraArguments: [String] = []) throws -> ManagedProcess {
        try launch(label ?? "agent-\(agent.label)", binary: "tender-agent", ["run", "--state-dir", agent.stateDir.path] + extraArguments)
    }

    func agentStatus(_ agent: AgentHandle) async throws -> AgentStatusOutput {
        let result = try await run("status \(agent.label)", binary: "tender-agent", ["status", "--state-dir", agent.stateDir.path, "-o", "json"])
        guard result.exitCode == 0 else { throw E2EError("tender-agent status failed:\n\(result)") }
        return try result.decode(AgentStatusOutput.self)
    }
}

// MARK: - Raw HTTPS (curl)

struct HTTPResult: Sendable, CustomStringConvertible {
    let status: Int
    let body: String
    let contentType: String

    var description: String { "HTTP \(status) [\(contentType)] \(body)" }

    var apiError: APIErrorBody? { try? JSONDecoder().decode(APIErrorBody.self, from: Data(body.utf8)) }
}

extension Sandbox {
    /// One HTTPS request with curl, trusting only `caPath`. The body is sent byte-exact.
    func http(_ method: String, _ url: String, caPath: String, token: String? = nil, body: String? = nil) async throws -> HTTPResult {
        let id = UUID().uuidString.prefix(8)
        let out = self.url("logs/http-\(id).body")
        var arguments = ["-sS", "--max-time", "30", "--cacert", caPath, "-X", method, "-o", out.path, "-w", "%{http_code} %{content_type}"]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let body {
            let file = self.url("logs/http-\(id).request")
            try Data(body.utf8).write(to: file)
            arguments += ["-H", "Content-Type: application/json", "--data-binary", "@\(file.path)"]
        }
        arguments.append(url)
        let result = try await run("curl \(method) \(url)", binary: "/usr/bin/env", ["curl"] + arguments)
        guard result.exitCode == 0 else { throw E2EError("curl failed (is curl installed?):\n\(result)") }
        let parts = result.stdout.split(separator: " ", maxSplits: 1).map(String.init)
        guard let status = parts.first.flatMap({ Int($0) }) else { throw E2EError("curl printed no status: \(result)") }
        let responseBody = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        return HTTPResult(status: status, body: responseBody, contentType: parts.count > 1 ? parts[1] : "")
    }
}

// MARK: - Raw mutual-TLS WebSocket client (python3's ssl + socket)

extension Sandbox {
    /// Connects to `/v1/agent` with the client certificate in `agent`'s state dir, says
    /// hello, waits for welcome, then (mode `oversize`) sends a frame of exactly 1 MiB
    /// (must be answered, connection kept) and one of 1 MiB + 1 (must close the connection).
    /// Returns the JSON events the script printed, one per line.
    func rawAgentChannel(_ agent: AgentHandle, port: Int, mode: String) async throws -> (result: CommandResult, events: [[String: String]]) {
        let script = url("raw_ws_client.py")
        if !FileManager.default.fileExists(atPath: script.path) {
            try Data(rawWebSocketScript.utf8).write(to: script)
        }
        let dir = agent.stateDir
        let result = try await run("raw-ws \(agent.label) \(mode)", binary: "/usr/bin/env", [
            "python3", script.path, "127.0.0.1", String(port),
            dir.appendingPathComponent("ca.pem").path, dir.appendingPathComponent("agent.pem").path,
            dir.appendingPathComponent("agent.key").path, mode,
        ], timeout: .seconds(60))
        let events: [[String: String]] = result.stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return object.mapValues { "\($0)" }
        }
        return (result, events)
    }
}

let rawWebSocketScript = #"""
import base64, json, os, socket, ssl, struct, sys

def emit(**kw):
    print(json.dumps({k: str(v) for k, v in kw.items()}), flush=True)

class Conn:
    def __init__(self, host, port, ca, cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ca)
        ctx.load_cert_chain(cert, key)
        raw = socket.create_connection((host, port), timeout=15)
        self.s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = b""

    def fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("connection closed by the controller")
        self.buf += chunk

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def upgrade(self, host, port):
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET /v1/agent HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: tender-e2e-raw\r\n\r\n") % (host, port, key)
        self.s.sendall(req.encode())
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n")[0].decode(errors="replace")
        if status.split(" ")[1:2] != ["101"]:
            raise RuntimeError("upgrade refused: " + head.decode(errors="replace") + " " + self.buf.decode(errors="replace"))

    def send(self, opcode, payload):
        n = len(payload)
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        if n:
            stream = (mask * (n // 4 + 1))[:n]
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")
        self.s.sendall(header + mask + payload)

    def frame(self):
        b0, b1 = self.exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.exact(8))[0]
        mask = self.exact(4) if b1 & 0x80 else None
        payload = self.exact(n)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return b0 & 0x0F, payload

    def message(self):
        while True:
            op, payload = self.frame()
            if op == 0x9:
                self.send(0xA, payload)
                continue
            if op == 0xA:
                continue
            return op, payload

def main():
    host, port, ca, cert, key, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
    c = Conn(host, port, ca, cert, key)
    c.upgrade(host, port)
    hello = {"v": 1, "type": "hello", "body": {"protocolVersions": [1], "agentVersion": "e2e-raw", "platformName": "e2e",
             "platformVersion": "0", "hostname": "e2e-raw", "ipAddresses": ["127.0.0.1"]}}
    c.send(0x1, json.dumps(hello).encode())
    op, payload = c.message()
    msg = json.loads(payload) if op == 0x1 else {}
    emit(event="first", opcode=op, type=msg.get("type", ""), instanceId=msg.get("body", {}).get("instanceId", ""))
    if mode == "hello":
        c.send(0x8, struct.pack("!H", 1000))
        emit(event="done")
        return
    limit = 1 << 20
    # Exactly at the limit: not JSON, so the controller must answer with an error notice and keep the line.
    c.send(0x1, b"x" * limit)
    op, payload = c.message()
    msg = json.loads(payload) if op == 0x1 else {}
    emit(event="atLimit", opcode=op, type=msg.get("type", ""))
    # One byte over: the controller must close this connection.
    try:
        c.send(0x1, b"x" * (limit + 1))
        emit(event="oversizeSent")
    except OSError as e:
        emit(event="oversizeSendFailed", error=e)
    c.s.settimeout(10)
    try:
        while True:
            op, payload = c.message()
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else ""
                emit(event="closeFrame", code=code)
            else:
                emit(event="frame", opcode=op)
    except socket.timeout:
        emit(event="stillOpen")
    except (EOFError, OSError, ssl.SSLError) as e:
        emit(event="closed", error=e)

main()
"""#
