import Testing
@testable import Controller
import TenderAPI
import TenderWire

@Suite("Rate control and status aggregation")
struct DispatchLogicTests {
    @Test func rateLimitsParseAndResolve() throws {
        #expect(try RateLimit(parsing: "50", what: "x") == .count(50))
        #expect(try RateLimit(parsing: "10%", what: "x") == .percent(10))
        for bad in ["", "-1", "101%", "abc", "5.5", "%", "1e3"] {
            #expect(throws: TenderError.self, "\(bad)") { try RateLimit(parsing: bad, what: "--max-concurrency") }
        }
        #expect(RateLimit.percent(10).concurrency(targets: 3) == 1, "a percentage never makes a window of 0")
        #expect(RateLimit.percent(50).concurrency(targets: 3) == 2, "percentages round up for concurrency")
        #expect(RateLimit.count(0).concurrency(targets: 3) == 1)
        #expect(RateLimit.percent(10).errors(targets: 3) == 0, "percentages round down for errors")
        #expect(RateLimit.percent(50).errors(targets: 10) == 5)
        #expect(RateLimit.count(2).errors(targets: 1) == 2)
    }

    @Test func slidingWindow() {
        let pending = ["a", "b", "c", "d"]
        #expect(DispatchPlan.make(concurrency: 2, maxErrors: 0, inFlight: 0, errors: 0, pending: pending) { _ in true }.send == ["a", "b"])
        #expect(DispatchPlan.make(concurrency: 2, maxErrors: 0, inFlight: 1, errors: 0, pending: pending) { _ in true }.send == ["a"])
        #expect(DispatchPlan.make(concurrency: 2, maxErrors: 0, inFlight: 2, errors: 0, pending: pending) { _ in true }.send.isEmpty)
        // Offline targets wait without holding up the others.
        #expect(DispatchPlan.make(concurrency: 2, maxErrors: 0, inFlight: 0, errors: 0, pending: pending) { $0 != "a" }.send == ["b", "c"])
    }

    @Test func errorLimitStopsSendingAndTerminatesTheRest() {
        // MaxErrors 0: the first error stops sending; what is pending is terminated.
        let plan = DispatchPlan.make(concurrency: 1, maxErrors: 0, inFlight: 0, errors: 1, pending: ["b", "c"]) { _ in true }
        #expect(plan == DispatchPlan(send: [], terminate: ["b", "c"]))
        // MaxErrors 1: one error is tolerated, the second stops.
        #expect(DispatchPlan.make(concurrency: 1, maxErrors: 1, inFlight: 0, errors: 1, pending: ["b"]) { _ in true }.send == ["b"])
        #expect(DispatchPlan.make(concurrency: 1, maxErrors: 1, inFlight: 0, errors: 2, pending: ["b"]) { _ in true }.terminate == ["b"])
    }

    typealias I = CommandAggregate.Invocation

    @Test func aggregation() {
        let ok = I(status: .success, details: StatusDetails.success, started: true)
        let failed = I(status: .failed, details: StatusDetails.failed, started: true)
        let execTimeout = I(status: .timedOut, details: StatusDetails.executionTimedOut, started: true)
        let deliveryTimeout = I(status: .timedOut, details: StatusDetails.deliveryTimedOut, started: false)
        let terminated = I(status: .cancelled, details: StatusDetails.terminated, started: false)
        let cancelled = I(status: .cancelled, details: StatusDetails.cancelled, started: true)
        let pending = I(status: .pending, details: StatusDetails.pending, started: false)
        let running = I(status: .inProgress, details: StatusDetails.inProgress, started: true)

        #expect(CommandAggregate([ok, ok, ok], cancelRequested: false).status == .success)
        #expect(CommandAggregate([pending, pending], cancelRequested: false).status == .pending)
        #expect(CommandAggregate([pending, running], cancelRequested: false).status == .inProgress)
        #expect(CommandAggregate([ok, pending], cancelRequested: false).status == .inProgress)
        #expect(CommandAggregate([running], cancelRequested: true).status == .cancelling)

        let stopped = CommandAggregate([failed, terminated, terminated], cancelRequested: false)
        #expect(stopped.status == .failed)
        #expect(stopped.errorCount == 1)
        #expect(stopped.completedCount == 3)

        let timedOut = CommandAggregate([execTimeout, ok], cancelRequested: false)
        #expect(timedOut.status == .failed)
        #expect(timedOut.errorCount == 1, "execution timeouts are errors")

        let undelivered = CommandAggregate([deliveryTimeout], cancelRequested: false)
        #expect(undelivered.status == .timedOut)
        #expect(undelivered.statusDetails == StatusDetails.deliveryTimedOut)
        #expect(undelivered.errorCount == 0, "delivery timeouts are not errors")
        #expect(undelivered.deliveryTimedOutCount == 1)

        let partly = CommandAggregate([ok, deliveryTimeout], cancelRequested: false)
        #expect(partly.status == .success)
        #expect(partly.statusDetails == StatusDetails.incomplete)

        let cancelledCommand = CommandAggregate([cancelled, ok], cancelRequested: true)
        #expect(cancelledCommand.status == .cancelled)
        #expect(cancelledCommand.statusDetails == StatusDetails.cancelled)
    }
}
