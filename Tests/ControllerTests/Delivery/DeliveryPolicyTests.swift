import Foundation
import Testing
@testable import Controller
import TenderWire

/// Delivery is one mechanism and what to send next is its owner's policy: a
/// capability other than Run Command stores a delivery under its own owner, and the
/// real dispatcher sends it by that capability's rules, sums it up by them, and
/// keeps it out of the commands API.
@Suite("Delivery: another owner's policy decides what is sent")
struct DeliveryPolicyTests {
    static let kind = "test:last-first"

    /// Not Run Command's rules: one invocation at a time, the last target first, and
    /// the delivery fails as soon as one invocation does (a deployment's
    /// minimum-healthy-hosts rule is of this sort).
    struct LastFirstPolicy: DeliveryPolicy {
        func plan(_ delivery: CommandRecord, _ invocations: [InvocationState], deliverable: (String) -> Bool) -> DeliveryPlan {
            let waiting = invocations.filter { $0.status == .pending || $0.status == .delayed }.map(\.instanceID)
            if invocations.contains(where: { $0.status == .failed }) {
                return DeliveryPlan(send: [], terminate: waiting, inFlightLimit: 1)
            }
            let next = waiting.reversed().first(where: deliverable)
            return DeliveryPlan(send: next.map { [$0] } ?? [], terminate: [], inFlightLimit: 1)
        }

        func summary(_ delivery: CommandRecord, _ invocations: [InvocationState]) -> CommandAggregate {
            var aggregate = RunCommandPolicy().summary(delivery, invocations)
            if invocations.contains(where: { $0.status == .failed }), !invocations.contains(where: { !$0.status.isTerminal }) {
                (aggregate.status, aggregate.statusDetails) = (.failed, "Unhealthy")
            }
            return aggregate
        }
    }

    @Test("a delivery owned by another capability is sent by its policy, not by the MaxConcurrency stored with it")
    func ownersPolicyDecides() async throws {
        let policies = DeliveryPolicies.standard.adding(Self.kind, LastFirstPolicy())
        try await DispatcherHarness.with(policies: policies) { h in
            for i in 0..<3 { try await h.connect(h.instance(i)) }
            // Stored with a MaxConcurrency of 3: Run Command would send all three now.
            let owner = DeliveryOwner(kind: Self.kind, id: "d-0123456789abcdef0")
            let id = try await h.insertCommand(targets: 3, maxConcurrency: 3, maxErrors: 3, owner: owner)
            await h.kick(id, at: 0)
            #expect(h.log.runs == [.run(h.instance(2))], "its policy: one at a time, the last target first")
            #expect(try await h.store.command(id: id)?.owner == owner, "the owner is stored and read back")

            try await h.started(id, h.instance(2), at: 1)
            try await finish(h, id, h.instance(2), .success, at: 2)
            await h.kick(id, at: 2)
            #expect(h.log.runs == [.run(h.instance(2)), .run(h.instance(1))])

            try await h.started(id, h.instance(1), at: 3)
            try await finish(h, id, h.instance(1), .failed, at: 4)
            await h.kick(id, at: 4)
            #expect(h.log.runs.count == 2, "its rule stops the rest after one failure, although MaxErrors 3 would go on")
            #expect(try await h.status(id, h.instance(0)) == "Cancelled/Terminated")
            let delivery = try #require(try await h.store.command(id: id))
            #expect(delivery.status == .failed)
            #expect(delivery.statusDetails == "Unhealthy", "the status is its policy's summary")
        }
    }

    @Test("another owner's deliveries are not commands: not listed, not shown, not cancelled, no events")
    func notACommand() async throws {
        try await TestDatabase.with(.sqlite) { database in
            let store = try await database.open()
            let dispatcher = Dispatcher(store: store, registry: ConnectionRegistry(), logger: DispatcherHarness.logger)
            do {
                try await store.migrate()
                let now = Date()
                func insert(_ owner: DeliveryOwner) async throws -> String {
                    let id = UUID().uuidString.lowercased()
                    try await store.insertCommand(CommandRecord(
                        id: id, documentName: "Tender-RunShellScript", documentVersion: 0, parametersJSON: "{}", targetsJSON: "[]", stepsJSON: "[]",
                        maxConcurrency: .count(1), maxErrors: .count(0), deliveryTimeoutSeconds: 600, comment: nil, createdAt: now, createdBy: nil,
                        targetCount: 1, owner: owner), invocations: [InvocationRecord(commandID: id, instanceID: "mi-00000000000000001", position: 0, updatedAt: now)])
                    return id
                }
                let delivery = try await insert(DeliveryOwner(kind: Self.kind, id: "d-1"))
                let command = try await insert(.runCommand)
                #expect(try await store.commands(limit: 10).map(\.id) == [command])
                #expect(Set(try await store.events(after: 0, limit: 100).map(\.commandID)) == [command])

                let outputs = OutputStore(dataDirectory: URL(fileURLWithPath: database.location).deletingLastPathComponent())
                let service = CommandService(store: store, documents: DocumentService(store: store), dispatcher: dispatcher, outputs: outputs)
                #expect(try await service.show(command).commandId == command, "a command is still shown")
                let calls: [() async throws -> Void] = [
                    { _ = try await service.show(delivery) },
                    { _ = try await service.cancel(delivery) },
                    { _ = try await service.output(delivery, instanceID: "mi-00000000000000001", stream: "stdout") },
                ]
                for call in calls {
                    let error = await #expect(throws: TenderError.self) { try await call() }
                    #expect(error?.code == .notFound)
                }
                #expect(try await store.command(id: delivery)?.cancelRequestedAt == nil)
                await dispatcher.requestedPassesFinished()
                await store.shutdown()
            } catch {
                await store.shutdown()
                throw error
            }
        }
    }

    @Test("a delivery whose owner has no policy here is neither sent nor summed up")
    func unknownOwnerIsLeftAlone() async throws {
        try await DispatcherHarness.with { h in
            try await h.connect(h.instance(0))
            let id = try await h.insertCommand(targets: 1, maxConcurrency: 1, owner: DeliveryOwner(kind: "test:newer-replica", id: "x"))
            await h.kick(id, at: 0)
            #expect(h.log.runs.isEmpty)
            #expect(try await h.status(id, h.instance(0)) == "Pending/Pending")
            #expect(try await h.store.command(id: id)?.status == .pending)
        }
    }

    private func finish(_ h: DispatcherHarness, _ id: String, _ instanceID: String, _ status: InvocationStatus, at seconds: Double) async throws {
        let updated = try await h.store.transitionInvocation(commandID: id, instanceID: instanceID, InvocationTransition(
            from: [.inProgress], to: status, details: status.rawValue, responseCode: status == .success ? 0 : 1, endedAt: h.at(seconds)), at: h.at(seconds))
        #expect(updated != nil)
    }
}
