import Foundation
import Testing
@testable import Controller
import TenderWire

/// Delivery across replicas, at the store: a window claimed by several stores at
/// once (as replicas do) never holds more than its limit, and replicas' heartbeats
/// say who is alive.
extension StoreTests {
    @Test("claims from several connections at once never fill the window past its limit", arguments: StoreKind.tested)
    func concurrentClaimsKeepTheWindow(kind: StoreKind) async throws {
        try await TestDatabase.with(kind) { database in
            let first = try await database.open()
            try await first.migrate()
            let second = try await database.open()
            do {
                let (command, invocations) = makeCommand(targets: 20)
                try await first.insertCommand(command, invocations: invocations)
                let ids = invocations.map(\.instanceID)
                // Eight claimers (four per connection), each after a different pair, limit 4.
                let claimed = try await withThrowingTaskGroup(of: [InvocationState].self) { group in
                    for claimer in 0..<8 {
                        let store = claimer % 2 == 0 ? first : second
                        let wanted = [ids[(claimer * 2) % 20], ids[(claimer * 2 + 1) % 20]]
                        group.addTask {
                            try await store.claimInvocations(commandID: command.id, instanceIDs: wanted, inFlightLimit: 4, InvocationTransition(
                                from: [.pending, .delayed], to: .inProgress, details: StatusDetails.inProgress, countAttempt: true,
                                sentAt: at(1), sentBy: "r-\(claimer)"), at: at(1))
                        }
                    }
                    var all: [InvocationState] = []
                    for try await states in group { all += states }
                    return all
                }
                #expect(claimed.count == 4, "claimed \(claimed.map(\.instanceID))")
                let stored = try await first.invocationStates(commandID: command.id)
                #expect(stored.filter { $0.status == .inProgress }.count == 4)
                #expect(stored.filter { $0.status == .inProgress }.allSatisfy { $0.sentBy?.hasPrefix("r-") == true })
                // A full window claims nothing more; a freed slot is claimed again, in the order given.
                let more = try await first.claimInvocations(commandID: command.id, instanceIDs: Array(ids.suffix(3)), inFlightLimit: 4, InvocationTransition(
                    from: [.pending], to: .inProgress, details: StatusDetails.inProgress, sentAt: at(2), sentBy: "r-x"), at: at(2))
                #expect(more.isEmpty)
                let done = try #require(claimed.first)
                #expect(try await first.transitionInvocation(commandID: command.id, instanceID: done.instanceID, InvocationTransition(
                    from: [.inProgress], to: .success, details: StatusDetails.success, endedAt: at(3)), at: at(3)) != nil)
                let freed = try await second.claimInvocations(commandID: command.id, instanceIDs: Array(ids.suffix(3)), inFlightLimit: 4, InvocationTransition(
                    from: [.pending], to: .inProgress, details: StatusDetails.inProgress, sentAt: at(4), sentBy: "r-y"), at: at(4))
                #expect(freed.map(\.instanceID) == [ids[17]])
                #expect(freed.first?.sentBy == "r-y")
                await second.shutdown()
                await first.shutdown()
            } catch {
                await second.shutdown()
                await first.shutdown()
                throw error
            }
        }
    }

    @Test("replicas are seen by their last heartbeat and forgotten when old", arguments: StoreKind.tested)
    func replicaHeartbeats(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.recordReplica(id: "r-a", startedAt: at(0), at: at(0))
            try await store.recordReplica(id: "r-b", startedAt: at(0), at: at(10))
            try await store.recordReplica(id: "r-a", startedAt: at(0), at: at(20))
            #expect(try await store.replicas(seenSince: at(15)) == ["r-a"])
            #expect(try await store.replicas(seenSince: at(10)) == ["r-a", "r-b"])
            try await store.removeReplicas(seenBefore: at(15))
            #expect(try await store.replicas(seenSince: at(0)) == ["r-a"])
        }
    }
}
