import TenderWire
import TenderWire

extension StepOnFailure {
    /// Every spelling a document may use. SSM's `Abort` (from Automation documents)
    /// is read as `exit`, so the agent has one thing to do for both.
    static let spellings: [String: StepOnFailure] = ["exit": .exit, "successAndExit": .successAndExit, "Abort": .exit]
}
