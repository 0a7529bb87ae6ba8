import Testing

@testable import TenderWire

@Suite("Strict JSON syntax")
struct StrictJSONTests {
    @Test(arguments: [
        "{}", "[]", "0", "-1.5e+10", "\"\\u00e9\\n\"", "true", "null",
        #"{"a":[1,2,{"b":null}],"c":"x","d":false}"#, " \n{ \"a\" : 1 }\t",
    ])
    func acceptsValidJSON(_ text: String) throws {
        try StrictJSON.validate(Array(text.utf8))
    }

    @Test(arguments: [
        "", "{", #"{"a":1,}"#, "[1,]", #"{"a" 1}"#, "{a:1}", "'x'", "01", "1.", "-", "1e", "[1 2]",
        #"{"a":1}x"#, "\"tab\tinside\"", #""\x""#, "NaN", "Infinity", "[1,,2]", "/* c */ {}",
    ])
    func rejectsWhatRFC8259Rejects(_ text: String) {
        #expect(throws: TenderError.self, "\(text)") { try StrictJSON.validate(Array(text.utf8)) }
    }

    @Test func boundsNestingDepth() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        do {
            try StrictJSON.validate(Array(deep.utf8))
            Issue.record("expected a depth error")
        } catch let error as TenderError {
            #expect(error.code == .malformedJSON)
            #expect(error.message.contains("deeper"))
        }
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        try StrictJSON.validate(Array(fine.utf8))
    }
}
