import Foundation
import Testing
@testable import TenderWire

@Suite("Channel messages")
struct ChannelCodecTests {
    let codec = ChannelCodec()

    @Test(arguments: [
        ChannelMessage.hello(Hello(protocolVersions: [1], agentVersion: "0.1.0", platformName: "Debian GNU/Linux", platformVersion: "12", hostname: "web-1", ipAddresses: ["10.0.0.5"])),
        .welcome(Welcome(protocolVersion: 1, instanceId: "mi-0123456789abcdef0", heartbeatIntervalSeconds: 2, heartbeatTimeoutSeconds: 7)),
        .deregistered(Notice(code: "InstanceDeregistered", message: "gone")),
        .error(Notice(code: "ValidationError", message: "bad")),
        .renewCertificate(CertificateRenewalRequest(csr: "PEM")),
        .certificateRenewed(CertificateRenewal(certificate: "PEM")),
    ])
    func roundTrips(_ message: ChannelMessage) throws {
        let data = try codec.encode(message, id: "42")
        let (decoded, id) = try codec.decode(data)
        #expect(decoded == message)
        #expect(id == "42")
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["v"] as? Int == 1)
        #expect(object["type"] as? String == message.type)
    }

    /// Typed results travel in the result; a kind nobody here knows is opaque JSON,
    /// fields a newer peer adds are ignored, and a result without payloads (an older
    /// agent) reads as before.
    @Test func resultPayloadsRoundTripAndStayCompatible() throws {
        let result = InvocationResult(invocationId: "c_mi-0123456789abcdef0", status: .success, statusDetails: "Success", responseCode: 0,
                                      stdout: "", stderr: "", startedAt: nil, endedAt: Date(timeIntervalSince1970: 1_800_000_000),
                                      payloads: [StepPayload(step: "scan", kind: "tender.future/9", body: .object(["n": .integer(1), "l": .list([.bool(true), .null])]))])
        let (decoded, _) = try codec.decode(try codec.encode(.invocationResult(result), id: "1"))
        #expect(decoded == .invocationResult(result))

        let newer = #"{"v":1,"type":"invocationResult","body":{"invocationId":"i","status":"Success","statusDetails":"Success","responseCode":0,"stdout":"","stderr":"","endedAt":"2027-01-15T08:00:00Z","payloads":[{"step":"s","kind":"k/2","body":{"a":1},"signature":"from a newer agent"}],"fromTheFuture":true}}"#
        guard case .invocationResult(let read) = try codec.decode(Data(newer.utf8)).0 else {
            Issue.record("not read as a result")
            return
        }
        #expect(read.payloads == [StepPayload(step: "s", kind: "k/2", body: .object(["a": .integer(1)]))])

        let older = #"{"v":1,"type":"invocationResult","body":{"invocationId":"i","status":"Failed","statusDetails":"Failed","responseCode":1,"stdout":"","stderr":"x","endedAt":"2027-01-15T08:00:00Z"}}"#
        guard case .invocationResult(let old) = try codec.decode(Data(older.utf8)).0 else {
            Issue.record("not read as a result")
            return
        }
        #expect(old.payloads == nil)
        #expect(old.status == .failed)
    }

    @Test func unknownTypesAreKeptNotFatal() throws {
        let (message, _) = try codec.decode(Data(#"{"v":1,"type":"fromTheFuture","body":{"x":1}}"#.utf8))
        #expect(message == .unknown(type: "fromTheFuture"))
    }

    @Test(arguments: [#"{"#, #"{"v":1}"#, #"{"v":1,"type":"hello","body":{"protocolVersions":"one"}}"#, "[]"])
    func malformedIsAClearError(_ text: String) {
        do {
            _ = try codec.decode(Data(text.utf8))
            Issue.record("expected an error for \(text)")
        } catch let error as TenderError {
            #expect(error.code == .malformedJSON)
            #expect(!error.message.isEmpty)
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }
}

@Suite("JSON conventions")
struct JSONConventionTests {
    struct Sample: Codable, Equatable {
        var name: String
        var count: Int
        var at: Date
    }

    @Test func datesAreISO8601UTC() throws {
        let sample = Sample(name: "x", count: 1, at: Date(timeIntervalSince1970: 1_795_000_000))
        let text = String(decoding: try JSON.encoder().encode(sample), as: UTF8.self)
        #expect(text.contains(#""at":"2026-11-18T"#))
        #expect(text.contains("Z\""))
        #expect(try JSON.decoder().decode(Sample.self, from: Data(text.utf8)) == sample)
    }

    @Test func decodeErrorsNameTheField() {
        let cases: [(String, String)] = [
            (#"{"name":"x","at":"2026-11-26T00:00:00Z"}"#, "count"),
            (#"{"name":"x","count":"many","at":"2026-11-26T00:00:00Z"}"#, "count"),
            (#"{"name":"x","count":1,"at":"yesterday"}"#, "at"),
            ("not json", "not valid JSON"),
        ]
        for (text, expected) in cases {
            do {
                _ = try JSON.decode(Sample.self, from: Data(text.utf8))
                Issue.record("expected an error for \(text)")
            } catch let error as TenderError {
                #expect(error.code == .malformedJSON)
                #expect(error.message.contains(expected), "\(error.message) should mention \(expected)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }
}
