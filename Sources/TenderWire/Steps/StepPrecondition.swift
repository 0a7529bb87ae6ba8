/// A step's `precondition`. Only `{"StringEquals": ["platformType", "Linux"]}` is
/// accepted: Tender manages Linux only, so any other platform would name a step
/// that can never run.
public struct StepPrecondition: Sendable, Equatable, Hashable {
    public var platformType: String

    public init(platformType: String) {
        self.platformType = platformType
    }

    public static let linux = StepPrecondition(platformType: "Linux")
    public static let supportedPlatformTypes = ["Linux"]

    /// Whether the step applies to an instance of `platformType`.
    public func holds(platformType: String) -> Bool { self.platformType == platformType }
}

extension StepPrecondition: Codable {
    private enum CodingKeys: String, CodingKey { case stringEquals = "StringEquals" }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let operands = try container.decode([String].self, forKey: .stringEquals)
        guard operands.count == 2, operands[0] == "platformType" else {
            throw DecodingError.dataCorruptedError(
                forKey: .stringEquals, in: container, debugDescription: "expected [\"platformType\", PLATFORM]")
        }
        platformType = operands[1]
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(["platformType", platformType], forKey: .stringEquals)
    }
}
