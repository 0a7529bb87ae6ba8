#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One way an update gets approved: it passes every filter of the group, is a
/// security update unless `enableNonSecurity`, and (where the OS dates its
/// updates) has been out for `approveAfterDays`.
public struct ApprovalRule: Codable, Sendable, Equatable, Hashable {
    public var filters: [PatchFilter]
    public var complianceLevel: ComplianceLevel
    public var enableNonSecurity: Bool
    public var approveAfterDays: Int?

    public init(filters: [PatchFilter], complianceLevel: ComplianceLevel = .unspecified, enableNonSecurity: Bool = false, approveAfterDays: Int? = nil) {
        self.filters = filters
        self.complianceLevel = complianceLevel
        self.enableNonSecurity = enableNonSecurity
        self.approveAfterDays = approveAfterDays
    }

    /// SSM's limit for `approveAfterDays`.
    public static let maxApproveAfterDays = 360
}
