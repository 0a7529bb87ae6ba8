import Foundation
import Logging
import Testing
@testable import Controller
import TenderWire

/// Typed results on the controller: the payloads a result carries are stored with
/// it and read back; ones over `StepPayload`'s limits are not stored, the result
/// still is, and its stderr says why.
@Suite("InvocationReports: step payloads")
struct ResultPayloadTests {
    static let logger: Logger = {
        var logger = Logger(label: "tender.tests.payloads")
        logger.logLevel = .critical
        return logger
    }()
    let fixture = ReportsFixture(base: Millis.now(), logger: ResultPayloadTests.logger)

    func result(_ commandID: String, _ instance: String, payloads: [StepPayload]?) -> InvocationResult {
        InvocationResult(invocationId: RunInvocation.id(commandID: commandID, instanceID: instance), status: .success,
                         statusDetails: StatusDetails.success, responseCode: 0, stdout: "out", stderr: "",
                         startedAt: fixture.at(1), endedAt: fixture.at(2), payloads: payloads)
    }

    @Test("payloads are stored with the result and read back in order; none reads as empty")
    func storedAndRead() async throws {
        let payloads = [
            StepPayload(step: "scan", kind: "tender.patch.scan/1", body: .object(["installed": .integer(412), "missing": .list([.string("openssl")])])),
            StepPayload(step: "hook", kind: "x/1", body: .null),
        ]
        try await fixture.withReports(targets: 2) { store, reports, id in
            #expect(await reports.result(result(id, fixture.instance(0), payloads: payloads), instanceID: fixture.instance(0)) == .stored)
            #expect(await reports.result(result(id, fixture.instance(1), payloads: nil), instanceID: fixture.instance(1)) == .stored)
            let with = try #require(try await store.invocation(commandID: id, instanceID: fixture.instance(0)))
            #expect(with.payloads == payloads)
            let without = try #require(try await store.invocation(commandID: id, instanceID: fixture.instance(1)))
            #expect(without.payloads.isEmpty)
            #expect(without.status == .success)
        }
    }

    @Test("payloads over the limits (size, count, kind) are dropped, the result is stored and says why", arguments: [
        ("size", [StepPayload(step: "big", kind: "k/1", body: .string(String(repeating: "p", count: StepPayload.maxTotalBytes)))], "more than the 262144 one invocation may report"),
        ("count", (0...StepPayload.maxCount).map { StepPayload(step: "s\($0)", kind: "k/1", body: .null) }, "101 step payloads, more than the 100"),
        ("kind", [StepPayload(step: "s", kind: "no spaces", body: .null)], "step payload kind \"no spaces\" is not"),
    ])
    func overTheLimits(_ what: String, _ payloads: [StepPayload], _ reason: String) async throws {
        try await fixture.withReports(targets: 1) { store, reports, id in
            #expect(await reports.result(result(id, fixture.instance(0), payloads: payloads), instanceID: fixture.instance(0)) == .stored)
            let stored = try #require(try await store.invocation(commandID: id, instanceID: fixture.instance(0)))
            #expect(stored.status == .success, "\(what)")
            #expect(stored.payloads.isEmpty, "\(what)")
            #expect(stored.stdout == "out")
            #expect(stored.stderr.contains("[tender: the step payloads were not stored: "), "\(what): \(stored.stderr)")
            #expect(stored.stderr.contains(reason), "\(what): \(stored.stderr)")
        }
    }
}
