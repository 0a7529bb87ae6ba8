import Foundation
import Testing
@testable import Controller
import TenderWire

@Suite("InvocationReports batching")
struct InvocationReportsTests {
    func start(_ instance: String) -> InvocationUpdate {
        InvocationUpdate(commandID: "c", instanceID: instance, transition: InvocationTransition(
            from: [.pending, .delayed, .inProgress], to: .inProgress, details: StatusDetails.inProgress, startedAt: Date()))
    }

    func result(_ instance: String) -> InvocationUpdate {
        InvocationUpdate(commandID: "c", instanceID: instance, transition: InvocationTransition(
            from: [.pending, .delayed, .inProgress, .cancelling], to: .success, details: StatusDetails.success, responseCode: 0,
            stdout: "", stderr: "", startedAt: Date(), endedAt: Date()))
    }

    @Test("a start is skipped only when its own result follows it in the batch")
    func supersededStarts() {
        // a: start then result (skip the start); b: start only (keep);
        // c: result then a late start (keep: it does not apply, and says so itself).
        let batch = [start("a"), start("b"), result("a"), result("c"), start("c")]
        let (kept, skipped) = InvocationReports.withoutSupersededStarts(batch)
        #expect(skipped == [0])
        #expect(kept == [1, 2, 3, 4])
    }

    @Test("a batch without results is written whole")
    func nothingToSkip() {
        let batch = [start("a"), start("b")]
        let (kept, skipped) = InvocationReports.withoutSupersededStarts(batch)
        #expect(skipped.isEmpty)
        #expect(kept == [0, 1])
    }
}
