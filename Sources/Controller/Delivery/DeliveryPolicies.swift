/// The policies this controller knows, by owner kind. Wired once, at start.
///
/// A delivery whose kind has no policy here (stored by a newer replica, during a
/// rolling upgrade) is left alone: nothing is sent for it and its status is not
/// touched, but the mechanism's own rules (timeouts, cancels, taking back from gone
/// channels) still apply, so it cannot hold an agent's work for ever.
struct DeliveryPolicies: Sendable {
    private var byKind: [String: any DeliveryPolicy]

    init(_ policies: [String: any DeliveryPolicy]) {
        byKind = policies
    }

    /// Run Command's, the one every controller has.
    static let standard = DeliveryPolicies([DeliveryOwner.runCommand.kind: RunCommandPolicy()])

    func policy(for owner: DeliveryOwner) -> (any DeliveryPolicy)? { byKind[owner.kind] }

    /// These policies with `policy` added for `kind` (replacing one of that kind).
    func adding(_ kind: String, _ policy: any DeliveryPolicy) -> DeliveryPolicies {
        var copy = self
        copy.byKind[kind] = policy
        return copy
    }
}
