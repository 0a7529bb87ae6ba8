import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
@testable import Controller
import TenderWire

/// What the dispatcher did, in the order it happened: invocations stored as sent, and
/// messages written to agents' channels (by instance id).
enum DispatchEvent: Equatable, Sendable, CustomStringConvertible {
    /// Stored `InProgress` with a `sentAt` (the write to the store had returned).
    case stored(String)
    /// A `runInvocation` written to the instance's channel.
    case run(String)
    case cancel(String)
    case other(String)

    var description: String {
        switch self {
        case .stored(let id): "stored \(id)"
        case .run(let id): "run \(id)"
        case .cancel(let id): "cancel \(id)"
        case .other(let text): text
        }
    }
}

final class DispatchLog: Sendable {
    private let events = NIOLockedValueBox<[DispatchEvent]>([])
    private let stepsSent = NIOLockedValueBox<[String: [ResolvedStep]]>([:])

    /// The steps of the last `runInvocation` written to each instance.
    func steps(sentTo instanceID: String) -> [ResolvedStep]? { stepsSent.withLockedValue { $0[instanceID] } }
    func record(_ steps: [ResolvedStep], sentTo instanceID: String) { stepsSent.withLockedValue { $0[instanceID] = steps } }

    func append(_ event: DispatchEvent) { events.withLockedValue { $0.append(event) } }
    var all: [DispatchEvent] { events.withLockedValue { $0 } }
    func runs(to instanceID: String) -> Int { all.filter { $0 == .run(instanceID) }.count }
    var runs: [DispatchEvent] { all.filter { if case .run = $0 { true } else { false } } }
}

/// Records every frame written to a fake agent's channel, decoded, then passes it on.
final class WriteRecorder: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    let log: DispatchLog

    init(log: DispatchLog) { self.log = log }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        let decoded = try? ChannelCodec().decode(Data(buffer: frame.data)).message
        switch decoded {
        case .runInvocation(let run):
            log.append(.run(Self.instance(of: run.invocationId)))
            log.record(run.steps, sentTo: Self.instance(of: run.invocationId))
        case .cancelInvocation(let ref): log.append(.cancel(Self.instance(of: ref.invocationId)))
        default: log.append(.other("frame \(frame.opcode)"))
        }
        context.write(data, promise: promise)
    }

    /// `<commandId>_<instanceId>`: instance ids have no `_`.
    static func instance(of invocationID: String) -> String {
        String(invocationID.split(separator: "_").last ?? "")
    }
}

/// A real dispatcher over a real (SQLite) store, wrapped to record what is stored as
/// sent, with fake agents: a connected agent is a `NIOAsyncTestingChannel` in the real
/// `ConnectionRegistry`, on an event loop that runs writes on its own queue (as a real
/// one does, after the dispatcher has moved on), with its writes recorded. Time is
/// driven through `kick(now:)`; no pass runs unless a test asks for one.
struct DispatcherHarness: Sendable {
    let store: RecordingStore
    let registry: ConnectionRegistry
    let dispatcher: Dispatcher
    let loop: NIOAsyncTestingEventLoop
    let log: DispatchLog
    let base: Int
    private let agents: NIOLockedValueBox<[String: Agent]>
    /// Every channel made, closed at the end.
    private let channels = NIOLockedValueBox<[NIOAsyncTestingChannel]>([])
    /// Instances whose agent disconnects the moment their invocation is stored as sent.
    private let dropOnStore: NIOLockedValueBox<Set<String>>

    struct Agent: Sendable {
        let channel: NIOAsyncTestingChannel
        let connectionID: UInt64
        let sink: NIOAsyncChannelOutboundWriter<WebSocketFrame>.TestSink
    }

    static let logger: Logger = {
        var logger = Logger(label: "tender.tests.dispatcher")
        logger.logLevel = .critical
        return logger
    }()

    /// A harness on a fresh, migrated SQLite store, removed afterwards. The dispatcher
    /// has `executionMargin` and `cancelGrace` as given, and was live long before.
    static func with(executionMargin: TimeInterval = 5, cancelGrace: TimeInterval = 3, policies: DeliveryPolicies = .standard,
                     _ body: (DispatcherHarness) async throws -> Void) async throws {
        try await TestDatabase.with(.sqlite) { database in
            let sql = try await database.open()
            let loop = NIOAsyncTestingEventLoop()
            let log = DispatchLog()
            let registry = ConnectionRegistry()
            let agents = NIOLockedValueBox<[String: Agent]>([:])
            let dropOnStore = NIOLockedValueBox<Set<String>>([])
            let store = RecordingStore(sql) { ids in
                // Every write queued before this store call returned has run once the
                // loop is drained: a send made ahead of its store write shows up first.
                await loop.run()
                for id in ids { log.append(.stored(id)) }
                for id in ids where dropOnStore.withLockedValue({ $0.remove(id) != nil }) {
                    if let agent = agents.withLockedValue({ $0.removeValue(forKey: id) }) {
                        _ = registry.remove(instanceID: id, connectionID: agent.connectionID)
                    }
                }
            }
            let harness = DispatcherHarness(
                store: store, registry: registry,
                dispatcher: Dispatcher(store: store, registry: registry, executionMargin: executionMargin, cancelGrace: cancelGrace,
                                       liveSince: .distantPast, policies: policies, logger: logger),
                loop: loop, log: log, base: Millis.now(), agents: agents, dropOnStore: dropOnStore)
            do {
                try await sql.migrate()
                try await body(harness)
            } catch {
                await harness.tearDown(sql)
                throw error
            }
            await harness.tearDown(sql)
        }
    }

    private func tearDown(_ sql: SQLStore) async {
        for channel in channels.withLockedValue({ $0 }) { try? await channel.close() }
        await loop.shutdownGracefully()
        await sql.shutdown()
    }

    // MARK: Time and ids

    /// `base` moved by `seconds`, at the millisecond precision the store keeps.
    func at(_ seconds: Double) -> Date { Millis.date(base + Int((seconds * 1000).rounded())) }

    func instance(_ i: Int) -> String { String(format: "mi-%017x", i + 1) }

    // MARK: Agents

    /// Connects a fake agent for `instanceID`: its channel is in the registry, as a
    /// session puts it there after the agent's hello.
    func connect(_ instanceID: String) async throws {
        let channel = NIOAsyncTestingChannel(loop: loop)
        channels.withLockedValue { $0.append(channel) }
        try await channel.pipeline.addHandler(WriteRecorder(log: log))
        try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 8443))
        let (_, sink) = NIOAsyncChannelOutboundWriter<WebSocketFrame>.makeTestingWriter()
        let connectionID = registry.makeConnectionID()
        _ = registry.add(instanceID: instanceID, connectionID: connectionID, channel: channel, liveness: Liveness())
        agents.withLockedValue { $0[instanceID] = Agent(channel: channel, connectionID: connectionID, sink: sink) }
    }

    /// The agent's channel leaves the registry, as when its session ends.
    func disconnect(_ instanceID: String) async throws {
        let agent = try #require(agents.withLockedValue { $0.removeValue(forKey: instanceID) })
        #expect(registry.remove(instanceID: instanceID, connectionID: agent.connectionID))
        try? await agent.channel.close()
    }

    /// The agent of `instanceID` disconnects the next time its invocation is stored
    /// as sent: the dispatcher's write then finds no channel.
    func disconnectWhenStored(_ instanceID: String) {
        _ = dropOnStore.withLockedValue { $0.insert(instanceID) }
    }

    /// One pass at `seconds`, then the writes it queued have run.
    func kick(_ commandID: String, at seconds: Double) async {
        await dispatcher.kick(commandID: commandID, now: at(seconds))
        await loop.run()
    }

    // MARK: Commands

    /// A command of shell steps with these timeouts on the first `targets` instances, stored.
    /// With `variants`, invocation `i` is sent `variantOf(i)`'s steps (nil: the command's own).
    func insertCommand(stepTimeouts: [Int] = [60], targets: Int, maxConcurrency: Int, maxErrors: Int = 0, deliveryTimeout: Int = 600,
                       owner: DeliveryOwner = .runCommand, variants: [String: [ResolvedStep]]? = nil, variantOf: (Int) -> String? = { _ in nil }) async throws -> String {
        let id = UUID().uuidString.lowercased()
        let steps = stepTimeouts.enumerated().map { i, timeout in
            ResolvedStep(action: "aws:runShellScript", name: "step\(i)", inputs: RunShellScriptInputs(runCommand: ["true"], timeoutSeconds: timeout).documentValue)
        }
        let command = CommandRecord(
            id: id, documentName: "Tender-RunShellScript", documentVersion: 0, parametersJSON: "{}", targetsJSON: #"["*"]"#,
            stepsJSON: String(decoding: try JSON.encoder().encode(steps), as: UTF8.self), maxConcurrency: .count(maxConcurrency),
            maxErrors: .count(maxErrors), deliveryTimeoutSeconds: deliveryTimeout, comment: nil, createdAt: at(0), createdBy: "tok-1", targetCount: targets,
            owner: owner, variantsJSON: try variants.map { String(decoding: try JSON.encoder().encode($0), as: UTF8.self) })
        let invocations = (0..<targets).map { InvocationRecord(commandID: id, instanceID: instance($0), position: $0, updatedAt: at(0), variant: variantOf($0)) }
        try await store.insertCommand(command, invocations: invocations)
        return id
    }

    /// The agent's start notice, stored as `InvocationReports.started` stores it.
    func started(_ commandID: String, _ instanceID: String, at seconds: Double) async throws {
        let updated = try await store.transitionInvocation(commandID: commandID, instanceID: instanceID, InvocationTransition(
            from: [.pending, .delayed, .inProgress], to: .inProgress, details: StatusDetails.inProgress, startedAt: at(seconds)), at: at(seconds))
        #expect(updated != nil)
    }

    func invocation(_ commandID: String, _ instanceID: String) async throws -> InvocationRecord {
        try #require(try await store.invocation(commandID: commandID, instanceID: instanceID))
    }

    /// `Status/Details` of one invocation.
    func status(_ commandID: String, _ instanceID: String) async throws -> String {
        let invocation = try await invocation(commandID, instanceID)
        return "\(invocation.status.rawValue)/\(invocation.statusDetails)"
    }
}
