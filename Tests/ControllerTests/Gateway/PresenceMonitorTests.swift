import Foundation
import NIOCore
import Testing
@testable import Controller

/// The presence monitor's sweep for deregistrations made on other replicas: the only
/// way a replica learns of them, so it must work, and its interval must be what is set.
@Suite("Presence monitor: deregistrations on other replicas")
struct PresenceMonitorTests {
    func monitor(_ f: GatewayFixture, checkEvery interval: Duration) -> PresenceMonitor {
        PresenceMonitor(registry: f.registry, store: f.store, events: f.events, heartbeatTimeout: .seconds(60),
                        deregistrationCheckInterval: interval, logger: GatewayFixture.logger)
    }

    @Test("an instance deregistered in the store by another replica has its channel here closed within one check interval")
    func closesChannelsOfInstancesDeregisteredElsewhere() async throws {
        try await GatewayFixture.with { f in
            let identity = try await f.register()
            let agent = try await f.connect(identity)
            _ = try await agent.helloAndWelcome()
            #expect(await FakeAgent.eventually { f.registry.isConnected(identity.instanceID) })
            let sweep = Task { try await monitor(f, checkEvery: .seconds(1)).run() }
            defer { sweep.cancel() }

            // Another replica's deregistration: the store only, nothing said to this one.
            let started = ContinuousClock.now
            #expect(try await f.store.deregisterInstance(id: identity.instanceID, at: Date()))
            // One interval, one loop tick (0.5 s) and the close's 0.2 s, with room for a loaded machine.
            #expect(await agent.closedAndEnded(within: .seconds(4)), "not closed by the sweep")
            let took = ContinuousClock.now - started
            #expect(took >= .milliseconds(200), "closed after \(took): not by the sweep")
            guard case .message(.deregistered) = try await agent.next() else {
                Issue.record("the agent must be told it was deregistered")
                return
            }
        }
    }

    @Test("with a long check interval the sweep does not run (so tests of the direct path see it alone)")
    func longIntervalMeansNoSweep() async throws {
        try await GatewayFixture.with { f in
            let identity = try await f.register()
            let agent = try await f.connect(identity)
            _ = try await agent.helloAndWelcome()
            let sweep = Task { try await monitor(f, checkEvery: .seconds(3600)).run() }
            defer { sweep.cancel() }
            #expect(try await f.store.deregisterInstance(id: identity.instanceID, at: Date()))
            // A default interval and a second: the default sweep would have closed it by then.
            let closed = await FakeAgent.eventually(within: .seconds(PresenceMonitor.defaultDeregistrationCheckSeconds + 1)) { !agent.isOpen }
            #expect(!closed, "the channel was closed although no check was due")
            await agent.hangUp()
        }
    }

    @Test("each check looks back at least a minute and two intervals, so no deregistration falls between two checks")
    func lookBackCoversTheInterval() {
        #expect(PresenceMonitor.deregistrationLookBack(interval: .seconds(2)) == 60)
        #expect(PresenceMonitor.deregistrationLookBack(interval: .seconds(3600)) == 7200)
        #expect(PresenceMonitor.deregistrationLookBack(interval: .milliseconds(45_500)) == 91)
    }
}
