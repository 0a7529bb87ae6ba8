import NIOConcurrencyHelpers
import NIOCore

/// What the simulated agents saw, per agent and in monotonic nanoseconds: when each
/// was last welcomed, got its work and had its result confirmed. One lock for the
/// fleet; it is taken a few times per agent per run, never per heartbeat.
final class FleetRecorder: Sendable {
    struct State {
        var onlineAt: [UInt64]
        var online = 0
        var runAt: [UInt64]
        var storedAt: [UInt64]
        var stored = 0
        var protocolErrors = 0
        var failedHandshakes = 0
    }

    private let state: NIOLockedValueBox<State>
    let count: Int

    init(count: Int) {
        self.count = count
        state = NIOLockedValueBox(State(onlineAt: Array(repeating: 0, count: count), runAt: Array(repeating: 0, count: count),
                                        storedAt: Array(repeating: 0, count: count)))
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    func online(_ index: Int) {
        let now = Self.now()
        state.withLockedValue { state in
            if state.onlineAt[index] == 0 { state.online += 1 }
            state.onlineAt[index] = now
        }
    }

    func runReceived(_ index: Int) {
        let now = Self.now()
        state.withLockedValue { state in
            if state.runAt[index] == 0 { state.runAt[index] = now }
        }
    }

    func resultStored(_ index: Int) {
        let now = Self.now()
        state.withLockedValue { state in
            if state.storedAt[index] == 0 {
                state.storedAt[index] = now
                state.stored += 1
            }
        }
    }

    func protocolError(_ index: Int) { state.withLockedValue { $0.protocolErrors += 1 } }
    func failedHandshake() { state.withLockedValue { $0.failedHandshakes += 1 } }

    /// Forgets who is online, so the next welcomes are counted afresh (a storm).
    func resetOnline() {
        state.withLockedValue { state in
            state.onlineAt = Array(repeating: 0, count: count)
            state.online = 0
        }
    }

    /// Forgets the last command's times (before the next fan-out).
    func resetRun() {
        state.withLockedValue { state in
            state.runAt = Array(repeating: 0, count: count)
            state.storedAt = Array(repeating: 0, count: count)
            state.stored = 0
        }
    }

    var snapshot: State { state.withLockedValue { $0 } }
    var onlineCount: Int { state.withLockedValue { $0.online } }
    var storedCount: Int { state.withLockedValue { $0.stored } }

    /// Polls until `condition` holds for the state, or the timeout passes (false).
    func wait(timeout: Duration, until condition: (State) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLockedValue({ condition($0) }) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return state.withLockedValue { condition($0) }
    }
}
