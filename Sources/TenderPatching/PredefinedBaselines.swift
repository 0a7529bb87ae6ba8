/// The read-only baseline each operating system has from the start, used for an
/// instance whose patch group names none and when no other default is set.
/// Debian and Ubuntu: every security update. The RHEL family: security updates
/// of severity Critical and Important.
public enum PredefinedBaselines {
    /// `pb-default-` + the operating system in lower case, e.g. `pb-default-debian`.
    public static func id(for os: PatchOperatingSystem) -> String {
        "pb-default-" + os.rawValue.lowercased().replacing("_", with: "-")
    }

    public static func isPredefined(_ id: String) -> Bool {
        PatchOperatingSystem.allCases.contains { Self.id(for: $0) == id }
    }

    public static func baseline(for os: PatchOperatingSystem) -> PatchBaseline {
        let rule: ApprovalRule
        switch os.family {
        case .apt:
            rule = ApprovalRule(filters: [PatchFilter(key: .priority, values: ["*"])], complianceLevel: .unspecified)
        case .dnf:
            rule = ApprovalRule(filters: [PatchFilter(key: .classification, values: ["Security"]), PatchFilter(key: .severity, values: ["Critical", "Important"])],
                                complianceLevel: .unspecified)
        }
        return PatchBaseline(id: id(for: os), name: "Tender-Default-\(os.rawValue)", operatingSystem: os, approvalRules: [rule])
    }

    public static var all: [PatchBaseline] { PatchOperatingSystem.allCases.map(baseline(for:)) }
}
