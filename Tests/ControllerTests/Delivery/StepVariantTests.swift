import Foundation
import Testing
@testable import Controller
import TenderWire

/// Steps that differ per instance (a patch run carries the baseline resolved for
/// each instance): the command stores each variant once, an invocation names its
/// variant, and the dispatcher sends every instance its own steps, on resends too.
@Suite("Delivery: step variants")
struct StepVariantTests {
    static func step(_ name: String) -> ResolvedStep {
        ResolvedStep(action: "aws:runShellScript", name: name, inputs: RunShellScriptInputs(runCommand: ["echo \(name)"], timeoutSeconds: 60).documentValue)
    }

    @Test("each instance is sent its variant's steps, and the command's own steps without one")
    func eachInstanceGetsItsVariant() async throws {
        try await DispatcherHarness.with { h in
            for i in 0..<3 { try await h.connect(h.instance(i)) }
            let variants = ["web": [Self.step("web")], "db": [Self.step("db"), Self.step("db-after")]]
            let id = try await h.insertCommand(targets: 3, maxConcurrency: 3, variants: variants, variantOf: { [0: "web", 1: "db"][$0] })
            await h.kick(id, at: 0)
            #expect(h.log.runs.count == 3)
            #expect(h.log.steps(sentTo: h.instance(0))?.map(\.name) == ["web"])
            #expect(h.log.steps(sentTo: h.instance(1))?.map(\.name) == ["db", "db-after"])
            #expect(h.log.steps(sentTo: h.instance(2))?.map(\.name) == ["step0"], "no variant: the command's own steps")
            #expect(try await h.invocation(id, h.instance(1)).variant == "db", "the variant is stored and read back")

            // Not started after 5 s: sent again, with the same variant.
            try await h.started(id, h.instance(0), at: 1)
            try await h.started(id, h.instance(2), at: 1)
            await h.kick(id, at: 6)
            #expect(h.log.runs(to: h.instance(1)) == 2)
            #expect(h.log.steps(sentTo: h.instance(1))?.map(\.name) == ["db", "db-after"])
        }
    }

    @Test("a variant the command does not hold is an error, not the command's own steps")
    func unknownVariantIsNotSent() async throws {
        let command = CommandRecord(id: "c", documentName: "d", documentVersion: 0, parametersJSON: "{}", targetsJSON: "[]", stepsJSON: "[]",
                                    maxConcurrency: .count(1), maxErrors: .count(0), deliveryTimeoutSeconds: 60, comment: nil, createdAt: Date(), createdBy: nil,
                                    targetCount: 1, variantsJSON: #"{"a": []}"#)
        #expect(throws: TenderError.self) { try command.steps(variant: "b") }
        #expect(try command.steps(variant: "a").isEmpty)
        #expect(throws: TenderError.self) { try RunMessageTemplate(command, variant: "b") }
    }
}
