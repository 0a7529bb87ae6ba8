import Foundation
import Testing

/// Acceptance 3: malformed input is a 400 with a JSON error; an oversized frame drops only its own connection.
@Suite("E2E: bad input", .timeLimit(.minutes(10)))
struct InputValidationTests {
    static let malformedBodies = [
        #"{"registrationLimit": 1"#,         // truncated
        "this is not json",
        "\u{01}\u{02}garbage",
    ]

    @Test("malformed JSON to every POST endpoint (API and POST /v1/register) → 400 with a JSON error")
    func malformedJSONIsRejected() async throws {
        try await withSandbox("malformed") { sb in
            let controller = try await sb.startController()
            let activation = try await sb.createActivation(controller, limit: 1)
            let agent = try await sb.registerAgent("victim", with: controller, activation: activation)
            let token = controller.adminToken

            // Every POST path the API documents, plus the ones the brief names.
            let openapi = try await sb.http("GET", controller.apiURL + "/v1/openapi.json", caPath: controller.caPath)
            try #require(openapi.status == 200, "\(openapi.status)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(openapi.body.utf8)) as? [String: Any])
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            var postPaths = Set(paths.filter { $0.value["post"] != nil }.map(\.key))
            let required: Set = ["/v1/activations", "/v1/instances/{id}/tags", "/v1/instances/{id}/untag", "/v1/instances/{id}/deregister", "/v1/tokens"]
            #expect(required.isSubset(of: postPaths), "openapi.json lacks POST \(required.subtracting(postPaths))")
            postPaths.formUnion(required)

            var checked = 0
            for path in postPaths.sorted() {
                let concrete = path.replacingOccurrences(of: "{id}", with: agent.instanceID)
                    .replacingOccurrences(of: #"\{[^}]+\}"#, with: "e2e", options: .regularExpression)
                for body in Self.malformedBodies {
                    let response = try await sb.http("POST", controller.apiURL + concrete, caPath: controller.caPath, token: token, body: body)
                    #expect(response.status == 400, "POST \(concrete) with \(body.debugDescription): \(response)")
                    #expect(response.contentType.contains("application/json"), "POST \(concrete): \(response)")
                    let error = response.apiError
                    #expect(error != nil, "POST \(concrete): error body is not {\"error\":{\"code\",\"message\"}}: \(response)")
                    #expect(error?.error.message.isEmpty == false && error?.error.code.isEmpty == false, "POST \(concrete): \(response)")
                    checked += 1
                }
            }
            // A trailing comma is not JSON (RFC 8259) either, though Foundation's parser on Linux accepts it.
            let activationsBefore = try await sb.tenderJSON(controller, ["activation", "list"], as: [Activation].self).count
            let trailingComma = #"{"registrationLimit": 1, "tags": {"a": "b",},}"#
            let lenient = try await sb.http("POST", controller.apiURL + "/v1/activations", caPath: controller.caPath, token: token, body: trailingComma)
            #expect(lenient.status == 400, "trailing comma: \(lenient)")
            let activationsAfter = try await sb.tenderJSON(controller, ["activation", "list"], as: [Activation].self).count
            #expect(activationsAfter == activationsBefore, "a refused body must not create anything")

            // Well-formed JSON of the wrong shape is bad input too, not a 5xx.
            let wrongShape = try await sb.http("POST", controller.apiURL + "/v1/instances/\(agent.instanceID)/tags", caPath: controller.caPath, token: token, body: #"{"tags": 5}"#)
            #expect(wrongShape.status == 400, "\(wrongShape)")
            #expect(wrongShape.apiError != nil, "\(wrongShape)")

            // The agents' listener: registration.
            for body in Self.malformedBodies {
                let response = try await sb.http("POST", controller.agentURL + "/v1/register", caPath: controller.caPath, body: body)
                #expect(response.status == 400, "POST /v1/register with \(body.debugDescription): \(response)")
                #expect(response.apiError?.error.message.isEmpty == false, "POST /v1/register: \(response)")
                checked += 1
            }
            print("E2E malformed: \(checked) malformed requests answered 400 across \(postPaths.count + 1) POST endpoints")

            // None of it had an effect: the instance is still registered, nothing was created.
            let show = try await sb.tender(controller, ["instance", "show", agent.instanceID])
            #expect(show.exitCode == 0, "a malformed deregister must not deregister: \(show)")
            let activations = try await sb.tenderJSON(controller, ["activation", "list"], as: [Activation].self)
            #expect(activations.contains { $0.activationId == activation.activationId })
            #expect(activations.count == 1, "no malformed request may create an activation: \(activations)")
            #expect(controller.process.isRunning)
        }
    }

    @Test("a WebSocket frame over 1 MiB drops only that connection; other agents stay Online, the API keeps answering")
    func oversizedFrameDropsOnlyThatConnection() async throws {
        try await withSandbox("oversize") { sb in
            // Default heartbeats: the raw client below does not ping, so give it the full 7 s.
            let controller = try await sb.startController(heartbeat: .defaults)
            let activation = try await sb.createActivation(controller, limit: 2)
            let rogue = try await sb.registerAgent("rogue", with: controller, activation: activation)
            let bystander = try await sb.registerAgent("bystander", with: controller, activation: activation)
            let bystanderRun = try sb.startAgent(bystander)
            try await sb.waitFor("Online", [bystander.instanceID], on: controller, timeout: .seconds(30))
            let bystanderDropsBefore = bystanderRun.stderr.occurrences(of: "channel down")

            let (result, events) = try await sb.rawAgentChannel(rogue, port: controller.info.agentPort, mode: "oversize")
            try #require(result.exitCode == 0, "raw client failed:\n\(result)")
            func event(_ name: String) -> [String: String]? { events.first { $0["event"] == name } }
            let first = try #require(event("first"), "\(result)")
            #expect(first["type"] == "welcome", "\(result)")
            #expect(first["instanceId"] == rogue.instanceID, "\(result)")
            // Exactly 1 MiB is within the limit: answered (not JSON → an error notice), connection kept.
            #expect(event("atLimit")?["type"] == "error", "a 1 MiB frame should be accepted and answered: \(result)")
            // 1 MiB + 1: the connection is closed (close frame 1009 and/or EOF/reset), never left open.
            #expect(event("stillOpen") == nil, "the controller kept a connection that sent an oversized frame: \(result)")
            #expect(event("closed") != nil || event("closeFrame") != nil, "\(result)")
            if let close = event("closeFrame") { #expect(close["code"] == "1009", "\(result)") }

            // Only that connection: the rogue is ConnectionLost, the bystander still Online and never dropped.
            try await sb.waitFor("ConnectionLost", [rogue.instanceID], on: controller, timeout: .seconds(10))
            let bystanderStatus = try await sb.pingStatus(controller, bystander.instanceID)
            #expect(bystanderStatus == "Online")
            #expect(bystanderRun.isRunning)
            #expect(bystanderRun.stderr.occurrences(of: "channel down") == bystanderDropsBefore, "bystander's channel was dropped:\n\(bystanderRun.stderr)")
            let health = try await sb.http("GET", controller.apiURL + "/v1/health", caPath: controller.caPath)
            #expect(health.status == 200, "\(health)")
            #expect(controller.process.isRunning)

            // The controller still takes that identity afterwards (the drop was of the connection, not the instance).
            let (again, againEvents) = try await sb.rawAgentChannel(rogue, port: controller.info.agentPort, mode: "hello")
            #expect(again.exitCode == 0, "\(again)")
            #expect(againEvents.first { $0["event"] == "first" }?["type"] == "welcome", "\(again)")
        }
    }
}
