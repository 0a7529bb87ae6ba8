import Foundation
import Logging
import Testing
@testable import Controller
import TenderWire

/// `InvocationReports` over a migrated SQLite store holding one command whose
/// invocations were all sent and started: for tests of what a result stores.
struct ReportsFixture {
    let base: Int
    let logger: Logger

    func at(_ seconds: Double) -> Date { Millis.date(base + Int((seconds * 1000).rounded())) }
    func instance(_ i: Int) -> String { String(format: "mi-%017x", i + 1) }

    /// Reports over a migrated SQLite store, with one command on `targets` instances,
    /// each sent and started; everything removed afterwards.
    func withReports(targets: Int, _ body: (SQLStore, InvocationReports, String) async throws -> Void) async throws {
        try await TestDatabase.with(.sqlite) { database in
            let store = try await database.open()
            let dispatcher = Dispatcher(store: store, registry: ConnectionRegistry(), liveSince: .distantPast, logger: logger)
            do {
                try await store.migrate()
                let outputs = OutputStore(dataDirectory: URL(fileURLWithPath: database.location).deletingLastPathComponent())
                let reports = InvocationReports(store: store, outputs: outputs, dispatcher: dispatcher, logger: logger)
                let id = UUID().uuidString.lowercased()
                let steps = [ResolvedStep(action: "aws:runShellScript", name: "run", inputs: RunShellScriptInputs(runCommand: ["true"]).documentValue)]
                try await store.insertCommand(CommandRecord(
                    id: id, documentName: "Tender-RunShellScript", documentVersion: 0, parametersJSON: "{}", targetsJSON: #"["*"]"#,
                    stepsJSON: String(decoding: try JSON.encoder().encode(steps), as: UTF8.self), maxConcurrency: .count(targets),
                    maxErrors: .count(0), deliveryTimeoutSeconds: 600, comment: nil, createdAt: at(0), createdBy: nil, targetCount: targets),
                    invocations: (0..<targets).map { InvocationRecord(commandID: id, instanceID: instance($0), position: $0, updatedAt: at(0)) })
                for i in 0..<targets {
                    try #require(try await store.transitionInvocation(commandID: id, instanceID: instance(i), InvocationTransition(
                        from: [.pending], to: .inProgress, details: StatusDetails.inProgress, countAttempt: true, sentAt: at(0), startedAt: at(1)), at: at(1)) != nil)
                }
                try await body(store, reports, id)
                await dispatcher.requestedPassesFinished()
                await store.shutdown()
            } catch {
                await dispatcher.requestedPassesFinished()
                await store.shutdown()
                throw error
            }
        }
    }

}
