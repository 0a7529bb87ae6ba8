import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import NIOSSL
import Testing
import Agent
import Controller
import TenderAPI
import TenderDocuments
import TenderWire

/// A new kind of step needs no change to delivery or the worker: a runner on the
/// agent, its action in the controller's catalog, and its typed result comes back
/// through the API. A real controller (SQLite, loopback) and a real agent, both in
/// this process, because the runner is registered in code.
@Suite("An extra step action end to end", .timeLimit(.minutes(2)))
struct ExtraActionTests {
    /// Reports the host's kernel name and its `greeting` input as a payload.
    struct InventoryRunner: StepRunner {
        func run(_ step: ResolvedStep, in context: StepContext) async throws -> StepRun {
            guard let greeting = step.inputs["greeting"]?.stringValue else {
                throw TenderError.validation("inputs.greeting must be a string")
            }
            var name = utsname()
            uname(&name)
            let kernel = withUnsafeBytes(of: &name.sysname) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            try Data("inventory taken\n".utf8).append(to: context.stdoutFile)
            return StepRun(ending: .exited(0), payload: .init(kind: "test.inventory/1", body: .object([
                "kernel": .string(kernel), "greeting": .string(greeting), "step": .integer(context.index),
            ])))
        }
    }

    static let document = """
        schemaVersion: '2.2'
        description: takes an inventory with a runner only this test has
        parameters:
          greeting:
            type: String
            default: hello
        mainSteps:
          - action: test:inventory
            name: inventory
            inputs:
              greeting: '{{ greeting }}'
          - action: aws:runShellScript
            name: shell
            inputs:
              runCommand: [echo shell ran]
          - action: test:inventory
            name: broken
            inputs:
              greeting: [not, a, string]
        """

    @Test func aRegisteredRunnerReportsItsPayloadThroughTheAPI() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tender-extra-action-\(Identifiers.randomHex(6))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        var logger = Logger(label: "extra-action")
        logger.logLevel = .warning

        var configuration = ControllerConfiguration()
        configuration.dataDirectory = root.appendingPathComponent("controller")
        configuration.agentListen = HostPort(host: "127.0.0.1", port: 0)
        configuration.apiListen = HostPort(host: "127.0.0.1", port: 0)
        configuration.names = ["127.0.0.1"]
        configuration.stepActions.register("test:inventory", inputs: .passThrough)
        let controller = Controller(configuration: configuration, logger: logger)
        let controllerTask = Task { try await controller.run() }
        var agentTask: Task<Void, any Error>?
        do {
            try await exercise(configuration: configuration, controllerTask: controllerTask, root: root, logger: logger, agentTask: &agentTask)
        } catch {
            await Self.stop(agentTask, controllerTask)
            throw error
        }
        await Self.stop(agentTask, controllerTask)
    }

    /// Cancels the agent, then the controller, and waits for both to end.
    static func stop(_ agentTask: Task<Void, any Error>?, _ controllerTask: Task<Void, any Error>) async {
        agentTask?.cancel()
        _ = await agentTask?.result
        controllerTask.cancel()
        _ = await controllerTask.result
    }

    func exercise(configuration: ControllerConfiguration, controllerTask: Task<Void, any Error>, root: URL, logger: Logger,
                  agentTask: inout Task<Void, any Error>?) async throws {
        let listen = try await Self.waitForListenFile(Controller.listenFile(in: configuration.dataDirectory), controllerTask: controllerTask)
        let api = try APICaller(port: listen.apiPort, dataDirectory: configuration.dataDirectory)
        defer { api.shutdown() }

        let activation: ActivationInfo = try await api.call(.POST, "/v1/activations", body: CreateActivationRequest(registrationLimit: 1))
        let state = AgentStateDirectory(root.appendingPathComponent("agent").path)
        let identity = try await Registrar(state: state, logger: logger).register(.init(
            controller: try ControllerURL(parsing: "https://127.0.0.1:\(listen.agentPort)"), activationID: activation.activationId,
            activationCode: try #require(activation.activationCode), caFingerprint: listen.caFingerprint, name: nil, force: false))
        var runners = StepRunners.standard
        runners.register(InventoryRunner(), for: ["test:inventory"])
        let agent = AgentRunner(state: state, logger: logger, runners: runners)
        agentTask = Task { try await agent.run() }

        let _: DocumentInfo = try await api.call(.POST, "/v1/documents", body: DocumentRequest(name: "take-inventory", content: Self.document, format: nil))
        let sent: CommandInfo = try await api.call(.POST, "/v1/commands", body: SendCommandRequest(
            documentName: "take-inventory", parameters: ["greeting": .string("hi there")], targets: ["ids=\(identity.instanceId)"]))

        var finished: CommandInfo?
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let info: CommandInfo = try await api.call(.GET, "/v1/commands/\(sent.commandId)")
            if info.status.isTerminal { finished = info; break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let command = try #require(finished, "the command did not finish in 60 s")
        let invocation = try #require(command.invocations?.first)
        // The broken step fails the invocation by the ordinary rules; the others' results stand.
        #expect(invocation.status == .failed, "\(invocation)")
        #expect(invocation.stdout == "inventory taken\nshell ran\n")
        #expect(invocation.stderr.contains("step 'broken': inputs.greeting must be a string"), "\(invocation.stderr)")
        var kernel = utsname()
        uname(&kernel)
        let kernelName = withUnsafeBytes(of: &kernel.sysname) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        #expect(invocation.payloads == [StepPayload(step: "inventory", kind: "test.inventory/1", body: .object([
            "kernel": .string(kernelName), "greeting": .string("hi there"), "step": .integer(0),
        ]))])

        // Without the action in its catalog the controller refuses such a document, naming the step.
        let refused = try await api.raw(.POST, "/v1/documents", body: DocumentRequest(
            name: "unknown-action", content: Self.document.replacingOccurrences(of: "test:inventory", with: "test:unknown"), format: nil))
        #expect(refused.status == 400)
        #expect(refused.body.contains("mainSteps[0].action: unknown action 'test:unknown'"), "\(refused.body)")
    }

    static func waitForListenFile(_ url: URL, controllerTask: Task<Void, any Error>) async throws -> Controller.ListenInfo {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let data = try? Data(contentsOf: url), let info = try? JSON.decoder().decode(Controller.ListenInfo.self, from: data) { return info }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TenderError(.internalError, "the controller did not write \(url.path) in 30 s")
    }
}

/// The operator API over HTTPS with the admin token, trusting only the fleet CA.
struct APICaller: Sendable {
    let client: HTTPClient
    let base: String
    let token: String

    init(port: Int, dataDirectory: URL) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dataDirectory.appendingPathComponent("ca.pem").path))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(20))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        base = "https://127.0.0.1:\(port)"
        token = try String(contentsOf: dataDirectory.appendingPathComponent("admin.token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func raw(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<Int>.none) async throws -> (status: UInt, body: String) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSON.encoder().encode(body)))
        }
        let response = try await client.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 8 << 20)
        return (response.status.code, String(buffer: bytes))
    }

    func call<T: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<Int>.none) async throws -> T {
        let (status, text) = try await raw(method, path, body: body)
        guard (200..<300).contains(status) else { throw TenderError(.internalError, "\(method) \(path): HTTP \(status): \(text)") }
        return try JSON.decoder().decode(T.self, from: Data(text.utf8))
    }

    func shutdown() {
        try? client.syncShutdown()
    }
}

extension Data {
    fileprivate func append(to url: URL) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: self)
    }
}
