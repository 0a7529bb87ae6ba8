import Foundation
import Logging
import Testing
@testable import Controller
import TenderWire

/// The dispatcher's and the reports' rules that make every invocation end, driven
/// with explicit times on a real (SQLite) store and no agents connected: the
/// execution deadline, the cancel grace, deregistration, and results whose output
/// never arrives or is over the cap.
@Suite("Every invocation ends (dispatcher and reports)")
struct InvocationDeadlineTests {
    let base = Millis.now()
    func at(_ seconds: Double) -> Date { Millis.date(base + Int((seconds * 1000).rounded())) }

    static let logger: Logger = {
        var logger = Logger(label: "tender.tests.deadlines")
        logger.logLevel = .critical
        return logger
    }()

    struct Setup {
        let store: SQLStore
        let dispatcher: Dispatcher
        let outputs: OutputStore
        let reports: InvocationReports
    }

    /// A migrated SQLite store, a dispatcher with margin 5 s and grace 3 s, and an
    /// output store capped at 1,024 bytes per stream, all removed afterwards.
    func withSetup(liveSince: Date = .distantPast, _ body: (Setup) async throws -> Void) async throws {
        try await TestDatabase.with(.sqlite) { database in
            let store = try await database.open()
            let dataDir = URL(fileURLWithPath: database.location).deletingLastPathComponent()
            do {
                try await store.migrate()
                let dispatcher = Dispatcher(store: store, registry: ConnectionRegistry(), executionMargin: 5, cancelGrace: 3, liveSince: liveSince, logger: Self.logger)
                let outputs = OutputStore(dataDirectory: dataDir, maxStreamBytes: 1024)
                let reports = InvocationReports(store: store, outputs: outputs, dispatcher: dispatcher, logger: Self.logger)
                try await body(Setup(store: store, dispatcher: dispatcher, outputs: outputs, reports: reports))
                // Passes the code under test asked for run on their own: let them finish first.
                try await Task.sleep(for: .milliseconds(200))
                await store.shutdown()
            } catch {
                await store.shutdown()
                throw error
            }
        }
    }

    func instance(_ i: Int) -> String { String(format: "mi-%017x", i + 1) }

    /// A command of shell steps with these timeouts, on `targets` instances, stored.
    func insertCommand(_ store: SQLStore, stepTimeouts: [Int], targets: Int, maxErrors: Int = 0) async throws -> String {
        let id = UUID().uuidString.lowercased()
        let steps = stepTimeouts.enumerated().map { i, timeout in
            ResolvedStep(action: "aws:runShellScript", name: "step\(i)", inputs: RunShellScriptInputs(runCommand: ["true"], timeoutSeconds: timeout).documentValue)
        }
        let command = CommandRecord(
            id: id, documentName: "Tender-RunShellScript", documentVersion: 0, parametersJSON: "{}", targetsJSON: #"["*"]"#,
            stepsJSON: String(decoding: try JSON.encoder().encode(steps), as: UTF8.self), maxConcurrency: .count(targets),
            maxErrors: .count(maxErrors), deliveryTimeoutSeconds: 600, comment: nil, createdAt: at(0), createdBy: "tok-1", targetCount: targets)
        let invocations = (0..<targets).map { InvocationRecord(commandID: id, instanceID: instance($0), position: $0, updatedAt: at(0)) }
        try await store.insertCommand(command, invocations: invocations)
        return id
    }

    /// Marks an invocation sent at `sent` and, with `started`, started by its agent then.
    func send(_ store: SQLStore, _ commandID: String, _ instanceID: String, sent: Double, started: Double?) async throws {
        let updated = try await store.transitionInvocation(commandID: commandID, instanceID: instanceID, InvocationTransition(
            from: [.pending], to: .inProgress, details: StatusDetails.inProgress, countAttempt: true, sentAt: at(sent),
            startedAt: started.map(at)), at: at(sent))
        #expect(updated != nil)
    }

    func status(_ store: SQLStore, _ commandID: String, _ instanceID: String) async throws -> String {
        let invocation = try #require(try await store.invocation(commandID: commandID, instanceID: instanceID))
        return "\(invocation.status.rawValue)/\(invocation.statusDetails)"
    }

    // MARK: Execution deadline

    @Test("a started invocation with no result ends TimedOut at startedAt + the sum of its steps' timeouts + margin, as an error",
          arguments: [([5], 5.0), ([50, 40], 90.0)])
    func executionDeadline(stepTimeouts: [Int], budget: Double) async throws {
        try await withSetup { s in
            let id = try await insertCommand(s.store, stepTimeouts: stepTimeouts, targets: 1)
            try await send(s.store, id, instance(0), sent: 0, started: 1)
            let deadline = 1 + budget + 5
            await s.dispatcher.kick(commandID: id, now: at(deadline - 0.1))
            #expect(try await status(s.store, id, instance(0)) == "InProgress/InProgress", "not before the deadline")
            await s.dispatcher.kick(commandID: id, now: at(deadline))
            #expect(try await status(s.store, id, instance(0)) == "TimedOut/Execution Timed Out")
            let command = try #require(try await s.store.command(id: id))
            #expect(command.status == .failed, "an execution timeout is an error")
            #expect(command.errorCount == 1)
            #expect(command.finishedAt == at(deadline))
        }
    }

    @Test("the execution deadline does not count time the controller was down: after a start, the agents get the margin first")
    func deadlineWaitsForTheMarginAfterAStart() async throws {
        // The controller came up at 100 s; the invocation started at 1 s with a 5 s step.
        try await withSetup(liveSince: at(100)) { s in
            let id = try await insertCommand(s.store, stepTimeouts: [5], targets: 1)
            try await send(s.store, id, instance(0), sent: 0, started: 1)
            await s.dispatcher.kick(commandID: id, now: at(104.9))
            #expect(try await status(s.store, id, instance(0)) == "InProgress/InProgress", "the agent may still hand in its spooled result")
            await s.dispatcher.kick(commandID: id, now: at(105))
            #expect(try await status(s.store, id, instance(0)) == "TimedOut/Execution Timed Out")
        }
    }

    @Test("an invocation sent but never started is not judged by the execution deadline")
    func unstartedIsNotTimedOutByExecution() async throws {
        try await withSetup { s in
            let id = try await insertCommand(s.store, stepTimeouts: [5], targets: 1)
            try await send(s.store, id, instance(0), sent: 0, started: nil)
            await s.dispatcher.kick(commandID: id, now: at(100))
            // The agent is not connected: it waits to be sent again (delivery timeout 600 s).
            #expect(try await status(s.store, id, instance(0)) == "Delayed/Delayed")
        }
    }

    // MARK: Cancel

    @Test("cancel: unstarted invocations end Cancelled at once, started ones after the grace")
    func cancelAlwaysFinishes() async throws {
        try await withSetup { s in
            let id = try await insertCommand(s.store, stepTimeouts: [3600], targets: 3)
            try await send(s.store, id, instance(0), sent: 0, started: 1)
            try await send(s.store, id, instance(1), sent: 0, started: nil)
            #expect(try await s.store.requestCancel(commandID: id, at: at(10)))

            await s.dispatcher.kick(commandID: id, now: at(10))
            #expect(try await status(s.store, id, instance(0)) == "InProgress/InProgress", "started: the agent has the grace to confirm")
            #expect(try await status(s.store, id, instance(1)) == "Cancelled/Cancelled", "sent, never started")
            #expect(try await status(s.store, id, instance(2)) == "Cancelled/Cancelled", "pending")
            #expect(try await s.store.command(id: id)?.status == .cancelling)

            await s.dispatcher.kick(commandID: id, now: at(12.9))
            #expect(try await status(s.store, id, instance(0)) == "InProgress/InProgress")
            await s.dispatcher.kick(commandID: id, now: at(13))
            #expect(try await status(s.store, id, instance(0)) == "Cancelled/Cancelled", "ended by the controller after the grace")
            let command = try #require(try await s.store.command(id: id))
            #expect(command.status == .cancelled)
            #expect(command.statusDetails == StatusDetails.cancelled)
        }
    }

    // MARK: Deregistration

    @Test("deregistration ends the instance's open invocations Failed / Undeliverable without stopping the rollout")
    func deregistration() async throws {
        try await withSetup { s in
            let id = try await insertCommand(s.store, stepTimeouts: [60], targets: 4, maxErrors: 0)
            try await send(s.store, id, instance(0), sent: 0, started: 1)
            try await send(s.store, id, instance(2), sent: 0, started: 1)
            _ = try await s.store.transitionInvocation(commandID: id, instanceID: instance(2), InvocationTransition(
                from: [.inProgress], to: .success, details: StatusDetails.success, responseCode: 0, stdout: "ok\n", stderr: "", endedAt: at(2)), at: at(2))
            await s.dispatcher.instanceDeregistered(instance(0), now: at(3))
            await s.dispatcher.instanceDeregistered(instance(1), now: at(3))
            #expect(try await status(s.store, id, instance(0)) == "Failed/Undeliverable", "running")
            #expect(try await status(s.store, id, instance(1)) == "Failed/Undeliverable", "pending")
            #expect(try await status(s.store, id, instance(2)) == "Success/Success", "finished ones are left alone")

            await s.dispatcher.kick(commandID: id, now: at(4))
            // MaxErrors 0 and two Undeliverable: not errors, so the last one is not terminated.
            #expect(try await status(s.store, id, instance(3)) == "Pending/Pending")
            #expect(try await s.store.command(id: id)?.errorCount == 0)

            await s.dispatcher.instanceDeregistered(instance(3), now: at(5))
            await s.dispatcher.kick(commandID: id, now: at(5))
            let command = try #require(try await s.store.command(id: id))
            #expect(command.status == .success)
            #expect(command.statusDetails == StatusDetails.incomplete)
        }
    }

    // MARK: Results and their output

    func result(_ commandID: String, _ instanceID: String, stdoutSize: Int) -> InvocationResult {
        InvocationResult(invocationId: RunInvocation.id(commandID: commandID, instanceID: instanceID), status: .success,
                         statusDetails: StatusDetails.success, responseCode: 0, stdout: "inline\n", stderr: "inline err\n",
                         startedAt: at(1), endedAt: at(2), stdoutSize: stdoutSize, stderrSize: 0)
    }

    @Test("a result from an agent that ran an invocation the controller cancelled as unstarted replaces the cancel")
    func aRealRunReplacesAPresumedCancel() async throws {
        try await withSetup { s in
            let id = try await insertCommand(s.store, stepTimeouts: [60], targets: 1)
            // Sent; its start notice has not been written when the operator cancels.
            try await send(s.store, id, instance(0), sent: 0, started: nil)
            #expect(try await s.store.requestCancel(commandID: id, at: at(3)))
            await s.dispatcher.kick(commandID: id, now: at(3))
            #expect(try await status(s.store, id, instance(0)) == "Cancelled/Cancelled")
            #expect(try await s.store.command(id: id)?.status == .cancelled)

            // The agent had run it: started at 1 s, ended Success at 2 s.
            #expect(await s.reports.result(result(id, instance(0), stdoutSize: 0), instanceID: instance(0)) == .stored)
            #expect(try await status(s.store, id, instance(0)) == "Success/Success")
            let command = try #require(try await s.store.command(id: id))
            #expect(command.status == .success, "the command's status follows what really happened")

            // A cancel the agent itself reported (it never started) is not replaced.
            let second = try await insertCommand(s.store, stepTimeouts: [60], targets: 1)
            try await send(s.store, second, instance(0), sent: 0, started: nil)
            #expect(try await s.store.requestCancel(commandID: second, at: at(3)))
            await s.dispatcher.kick(commandID: second, now: at(3))
            var unstarted = result(second, instance(0), stdoutSize: 0)
            unstarted.startedAt = nil
            #expect(await s.reports.result(unstarted, instanceID: instance(0)) == .stored)
            #expect(try await status(s.store, second, instance(0)) == "Cancelled/Cancelled")
        }
    }

    @Test("an agent cannot claim the controller's own details that decide MaxErrors")
    func agentDetailsCannotDodgeMaxErrors() {
        func details(_ status: InvocationStatus, _ text: String) -> String {
            InvocationReports.details(of: InvocationResult(invocationId: "x", status: status, statusDetails: text, responseCode: 1,
                                                           stdout: "", stderr: "", startedAt: nil, endedAt: Date()))
        }
        #expect(details(.failed, StatusDetails.undeliverable) == StatusDetails.failed)
        #expect(details(.timedOut, StatusDetails.deliveryTimedOut) == StatusDetails.executionTimedOut)
        #expect(details(.failed, "Failed\u{1B}[31m") == "Failed[31m")
        #expect(details(.success, "") == "Success")
    }

    @Test("an output piece at an absurd offset is dropped, not a crash")
    func hugeOffsetIsDropped() async throws {
        try await withSetup { s in
            let id = try await insertCommand(s.store, stepTimeouts: [60], targets: 1)
            try await send(s.store, id, instance(0), sent: 0, started: 1)
            let held = try s.outputs.appendChunk(commandID: id, instanceID: instance(0), stream: "stdout", offset: Int.max, data: Data("x".utf8))
            #expect(held == 0)
            await s.reports.chunk(InvocationOutputChunk(invocationId: RunInvocation.id(commandID: id, instanceID: instance(0)), stream: "stdout",
                                                        offset: Int.max, data: Data("x".utf8).base64EncodedString()), instanceID: instance(0))
            #expect(try s.outputs.partSize(commandID: id, instanceID: instance(0), stream: "stdout") == 0)
        }
    }

    @Test("a result whose output never arrives is stored without it after eight requests, saying so in stderr")
    func outputThatNeverArrives() async throws {
        try await withSetup { s in
            let id = try await insertCommand(s.store, stepTimeouts: [60], targets: 1)
            try await send(s.store, id, instance(0), sent: 0, started: 1)
            let report = result(id, instance(0), stdoutSize: 100)
            for round in 1...8 {
                let outcome = await s.reports.result(report, instanceID: instance(0))
                #expect(outcome == .needOutput(OutputWanted(invocationId: report.invocationId, stdoutOffset: 0, stderrOffset: 0)), "round \(round)")
            }
            #expect(await s.reports.result(report, instanceID: instance(0)) == .stored)
            let stored = try #require(try await s.store.invocation(commandID: id, instanceID: instance(0)))
            #expect(stored.status == .success)
            #expect(stored.stdout == "inline\n")
            #expect(stored.stderr == "inline err\n\n[tender: the full output was not stored on the controller: the agent did not send it after 8 requests]\n")
            #expect(stored.outputBlob == nil)
        }
    }

    @Test("a result over the cap is stored once the kept part is held: no asking for what is dropped")
    func outputOverTheCap() async throws {
        try await withSetup { s in
            let id = try await insertCommand(s.store, stepTimeouts: [60], targets: 1)
            try await send(s.store, id, instance(0), sent: 0, started: 1)
            let invocationID = RunInvocation.id(commandID: id, instanceID: instance(0))
            let piece = Data(String(repeating: "z", count: 2000).utf8).base64EncodedString()
            await s.reports.chunk(InvocationOutputChunk(invocationId: invocationID, stream: "stdout", offset: 0, data: piece), instanceID: instance(0))
            #expect(await s.reports.result(result(id, instance(0), stdoutSize: 2000), instanceID: instance(0)) == .stored)
            let stdout = try #require(try s.outputs.read(commandID: id, instanceID: instance(0), stream: "stdout"))
            let note = "\n[tender: output truncated by the controller: 2000 bytes, of which the first 1024 were kept (the limit per stream)]\n"
            #expect(stdout == Data(String(repeating: "z", count: 1024).utf8) + Data(note.utf8))
            #expect(try await s.store.invocation(commandID: id, instanceID: instance(0))?.status == .success)
        }
    }
}
