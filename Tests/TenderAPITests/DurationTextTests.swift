import Testing
import TenderAPI
import TenderWire

@Suite("Duration text")
struct DurationTextTests {
    @Test func durations() throws {
        #expect(try DurationText.seconds("90s") == 90)
        #expect(try DurationText.seconds("30m") == 1800)
        #expect(try DurationText.seconds("24h") == 86400)
        #expect(try DurationText.seconds("7d") == 604800)
        #expect(try DurationText.seconds("120") == 120)
        for bad in ["", "h", "-1h", "0m", "1.5h", "1w", "99999999999999999999d"] {
            #expect(throws: TenderError.self, "\(bad)") { try DurationText.seconds(bad) }
        }
    }
}
