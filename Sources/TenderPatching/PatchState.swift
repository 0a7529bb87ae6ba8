/// A package's state against a baseline, by SSM's names.
public enum PatchState: String, Codable, Sendable, CaseIterable {
    /// An approved update is installed (the installed version is one the baseline approves).
    case installed = "INSTALLED"
    /// Installed, not approved by the baseline (or a rejected package allowed in as a dependency).
    case installedOther = "INSTALLED_OTHER"
    /// Installed by this run; the system must reboot before it is in use.
    case installedPendingReboot = "INSTALLED_PENDING_REBOOT"
    /// Installed although the baseline rejects it.
    case installedRejected = "INSTALLED_REJECTED"
    /// An approved update is available and not installed.
    case missing = "MISSING"
    /// The run tried to install an approved update and it is still not installed.
    case failed = "FAILED"
    /// Listed as approved, but not installed on this instance.
    case notApplicable = "NOT_APPLICABLE"

    /// Whether a package in this state makes its instance non-compliant.
    public var breaksCompliance: Bool {
        switch self {
        case .missing, .failed, .installedRejected: true
        // Installed, but not in use until the reboot.
        case .installedPendingReboot: true
        case .installed, .installedOther, .notApplicable: false
        }
    }
}
