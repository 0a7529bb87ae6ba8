import Testing
@testable import TenderAPI
@testable import TenderWire

@Suite("Target filters")
struct TargetFilterTests {
    @Test func parsesEveryForm() throws {
        #expect(try TargetFilter(parsing: "*") == .all)
        #expect(try TargetFilter(parsing: "ids=mi-0123456789abcdef0, mi-0123456789abcdef1") == .ids(["mi-0123456789abcdef0", "mi-0123456789abcdef1"]))
        #expect(try TargetFilter(parsing: "tag:env=prod,stage") == .tag(key: "env", values: ["prod", "stage"]))
        #expect(try TargetFilter(parsing: "tag:Patch Group=web") == .tag(key: "Patch Group", values: ["web"]))
        #expect(try TargetFilter(parsing: "tag-key=role") == .tagKey("role"))
    }

    @Test(arguments: ["", "ids=", "ids=mi-123", "tag:env", "tag:=x", "tag:env=", "tag-key=", "name=web", "all"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: TenderError.self) { try TargetFilter(parsing: text) }
    }

    @Test func errorNamesTheTarget() {
        do {
            _ = try TargetFilter(parsing: "ids=mi-zz")
            Issue.record("expected an error")
        } catch let error as TenderError {
            #expect(error.code == .validation)
            #expect(error.message.contains("mi-zz"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func allFiltersMustMatch() throws {
        let filters = [try TargetFilter(parsing: "tag:env=prod"), try TargetFilter(parsing: "tag-key=role")]
        #expect(TargetFilter.allMatch(filters, instanceID: "mi-0123456789abcdef0", tags: ["env": "prod", "role": "web"]))
        #expect(!TargetFilter.allMatch(filters, instanceID: "mi-0123456789abcdef0", tags: ["env": "prod"]))
        #expect(!TargetFilter.allMatch(filters, instanceID: "mi-0123456789abcdef0", tags: ["env": "dev", "role": "web"]))
        #expect(!TargetFilter.allMatch([], instanceID: "mi-0123456789abcdef0", tags: [:]), "no filters must select nothing")
    }

    @Test func roundTripsThroughText() throws {
        for text in ["*", "ids=mi-0123456789abcdef0", "tag:env=prod,dev", "tag-key=role"] {
            #expect(try TargetFilter(parsing: text).description == text)
        }
    }

    @Test func tagPairsAreValidated() throws {
        #expect(try Tags.parsePairs(["a=1", "b=x=y"]) == ["a": "1", "b": "x=y"])
        #expect(throws: TenderError.self) { try Tags.parsePairs(["novalue"]) }
        #expect(throws: TenderError.self) { try Tags.parsePairs(["=v"]) }
        #expect(throws: TenderError.self) { try Tags.parsePairs(["k=a,b"]) }
        #expect(throws: TenderError.self) { try Tags.parsePairs([String(repeating: "k", count: 129) + "=v"]) }
    }
}
