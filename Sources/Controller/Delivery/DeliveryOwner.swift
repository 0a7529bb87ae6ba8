/// Who a delivery belongs to: the capability whose `DeliveryPolicy` decides what is
/// sent next, and that capability's own object, if it has one apart from the delivery.
///
/// Every piece of work sent to agents is a delivery: the same resolved steps for a set
/// of instances, stored with one invocation per instance before anything is sent. Run
/// Command's deliveries are the commands operators send (`kind` `command`, no `id`:
/// the delivery is the command). A later capability (a deployment with its minimum
/// healthy hosts) stores its deliveries with its own kind and its object's id, gets
/// them delivered by the same mechanism under its own policy, and they never show as
/// commands. A delivery's own id is a lowercase UUID whoever owns it: it is the first
/// half of every invocation id (`<deliveryId>_<instanceId>`), which the agent uses as
/// its spool name and the controller parses back (`InvocationReports.parse`).
public struct DeliveryOwner: Sendable, Hashable, CustomStringConvertible {
    /// Names the policy (`DeliveryPolicies`): a constant of the capability's code, e.g. `command`.
    public var kind: String
    /// The owner's own object (e.g. a deployment's id); nil when the delivery is the object.
    public var id: String?

    public init(kind: String, id: String? = nil) {
        self.kind = kind
        self.id = id
    }

    /// Run Command: the delivery is the command an operator sent.
    public static let runCommand = DeliveryOwner(kind: "command")

    public var description: String { id.map { "\(kind) \($0)" } ?? kind }
}
