/// How much a missing approved update matters, as the operator rates it in the
/// rule (or list) that approved it. It is reported with each package; whether
/// an instance is compliant does not depend on it.
public enum ComplianceLevel: String, Codable, Sendable, CaseIterable {
    case critical = "CRITICAL"
    case high = "HIGH"
    case medium = "MEDIUM"
    case low = "LOW"
    case informational = "INFORMATIONAL"
    case unspecified = "UNSPECIFIED"
}

/// What a rejected package may still be.
public enum RejectedPatchesAction: String, Codable, Sendable, CaseIterable {
    /// Installed only when something else needs it; then reported `INSTALLED_OTHER`.
    case allowAsDependency = "ALLOW_AS_DEPENDENCY"
    /// Never installed, not even as a dependency: an update that would pull it in
    /// is left out too.
    case block = "BLOCK"
}
