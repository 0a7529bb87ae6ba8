import Testing
@testable import Controller
import TenderWire

/// What counts against MaxErrors, and how `Undeliverable` (a deregistered
/// instance) shows in a command's status.
@Suite("CommandAggregate: errors and Undeliverable")
struct CommandAggregateErrorTests {
    typealias I = CommandAggregate.Invocation

    let ok = I(status: .success, details: StatusDetails.success, started: true)
    let failed = I(status: .failed, details: StatusDetails.failed, started: true)
    let undeliverable = I(status: .failed, details: StatusDetails.undeliverable, started: false)
    let undeliverableStarted = I(status: .failed, details: StatusDetails.undeliverable, started: true)
    let execTimeout = I(status: .timedOut, details: StatusDetails.executionTimedOut, started: true)
    let deliveryTimeout = I(status: .timedOut, details: StatusDetails.deliveryTimedOut, started: false)
    let terminated = I(status: .cancelled, details: StatusDetails.terminated, started: false)
    let pending = I(status: .pending, details: StatusDetails.pending, started: false)

    @Test("failures and execution timeouts are errors; Undeliverable, delivery timeouts and cancels are not")
    func isError() {
        #expect(CommandAggregate.isError(status: .failed, details: StatusDetails.failed))
        #expect(CommandAggregate.isError(status: .timedOut, details: StatusDetails.executionTimedOut))
        #expect(!CommandAggregate.isError(status: .failed, details: StatusDetails.undeliverable))
        #expect(!CommandAggregate.isError(status: .timedOut, details: StatusDetails.deliveryTimedOut))
        #expect(!CommandAggregate.isError(status: .cancelled, details: StatusDetails.cancelled))
        #expect(!CommandAggregate.isError(status: .cancelled, details: StatusDetails.terminated))
        #expect(!CommandAggregate.isError(status: .success, details: StatusDetails.success))
        #expect(!CommandAggregate.isError(status: .inProgress, details: StatusDetails.inProgress))
    }

    @Test("a command whose other invocations succeeded ends Success / Incomplete, with no error")
    func successIncomplete() {
        let aggregate = CommandAggregate([ok, undeliverableStarted, undeliverable], cancelRequested: false)
        #expect(aggregate.status == .success)
        #expect(aggregate.statusDetails == StatusDetails.incomplete)
        #expect(aggregate.errorCount == 0)
        #expect(aggregate.completedCount == 3)
        #expect(aggregate.deliveryTimedOutCount == 0)
    }

    @Test("only Undeliverable: Failed / Undeliverable, still no error")
    func onlyUndeliverable() {
        let aggregate = CommandAggregate([undeliverable, undeliverableStarted], cancelRequested: false)
        #expect(aggregate.status == .failed)
        #expect(aggregate.statusDetails == StatusDetails.undeliverable)
        #expect(aggregate.errorCount == 0)
    }

    @Test("Undeliverable beside other endings: real errors, delivery timeouts and cancels decide")
    func mixed() {
        let withFailure = CommandAggregate([undeliverable, failed], cancelRequested: false)
        #expect(withFailure.status == .failed && withFailure.statusDetails == StatusDetails.failed)
        #expect(withFailure.errorCount == 1)
        let withExecTimeout = CommandAggregate([undeliverable, execTimeout, ok], cancelRequested: false)
        #expect(withExecTimeout.status == .failed && withExecTimeout.errorCount == 1)
        let withDeliveryTimeout = CommandAggregate([undeliverable, deliveryTimeout], cancelRequested: false)
        #expect(withDeliveryTimeout.status == .timedOut && withDeliveryTimeout.statusDetails == StatusDetails.deliveryTimedOut)
        let withTerminated = CommandAggregate([undeliverable, terminated], cancelRequested: false)
        #expect(withTerminated.status == .cancelled && withTerminated.statusDetails == StatusDetails.terminated)
        let stillOpen = CommandAggregate([undeliverable, pending], cancelRequested: false)
        #expect(!stillOpen.status.isTerminal, "a command ends only when all its invocations have")
    }

    @Test("Undeliverable does not trip MaxErrors 0: the rest are still sent")
    func doesNotStopTheRollout() {
        let invocations = [undeliverable, undeliverableStarted]
        let errors = invocations.filter { CommandAggregate.isError(status: $0.status, details: $0.details) }.count
        let plan = DispatchPlan.make(concurrency: 1, maxErrors: 0, inFlight: 0, errors: errors, pending: ["b"]) { _ in true }
        #expect(plan == DispatchPlan(send: ["b"], terminate: []))
    }
}
