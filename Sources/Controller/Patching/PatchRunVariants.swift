import Foundation
import TenderPatching
import TenderWire

/// Gives each instance of a patch run (a command whose steps include
/// `tender:runPatchBaseline`) its own steps: the document's, with the baseline
/// resolved for the instance's patch group and operating system added to the patch
/// step's inputs. Instances that resolve alike share one step variant, so a run on a
/// thousand web servers stores the baseline once.
struct PatchRunVariants: Sendable {
    let baselines: BaselineService

    /// The instance tags that name a patch group, in the order they are read.
    static let patchGroupTags = ["Patch Group", "PatchGroup"]

    /// The instance's patch group: its `Patch Group` tag, else its `PatchGroup` tag.
    static func patchGroup(of instance: InstanceRecord) -> String? {
        patchGroupTags.lazy.compactMap { instance.tags[$0] }.first
    }

    static func applies(to steps: [ResolvedStep]) -> Bool {
        steps.contains { $0.kind == .runPatchBaseline }
    }

    struct Assignment: Sendable {
        /// Variant name → steps.
        var variants: [String: [ResolvedStep]] = [:]
        /// Instance id → its variant's name.
        var variantOf: [String: String] = [:]
    }

    func assign(_ steps: [ResolvedStep], to instances: [InstanceRecord]) async throws -> Assignment {
        let resolver = try await baselines.resolver()
        var assignment = Assignment()
        for instance in instances {
            let group = Self.patchGroup(of: instance)
            let name: String
            let extra: [String: DocumentValue]
            if let os = Self.operatingSystem(of: instance) {
                let baseline = try resolver.resolve(patchGroup: group, operatingSystem: os)
                name = baseline.id + "|" + (group ?? "")
                extra = ["baseline": try DocumentValue.from(baseline), "patchGroup": group.map(DocumentValue.string) ?? .null]
            } else {
                name = "unresolved|" + (instance.platformName ?? "")
                let reported = instance.platformName.map { "it reported \($0)" } ?? "its agent has not reported it yet"
                extra = ["unresolved": .string("the controller cannot tell which system instance \(instance.id) patches (\(reported)); Tender patches Debian, Ubuntu and the RHEL family")]
            }
            if assignment.variants[name] == nil {
                assignment.variants[name] = steps.map { step in
                    guard step.kind == .runPatchBaseline, var inputs = step.inputs.objectValue else { return step }
                    for (key, value) in extra { inputs[key] = value }
                    var resolved = step
                    resolved.inputs = .object(inputs)
                    return resolved
                }
            }
            assignment.variantOf[instance.id] = name
        }
        return assignment
    }

    /// The system an instance's agent patches: from the os-release ids its agent
    /// reports, or, from an agent older than that, its platform name.
    static func operatingSystem(of instance: InstanceRecord) -> PatchOperatingSystem? {
        if let id = instance.platformID {
            return PatchOperatingSystem.from(osReleaseID: id, idLike: (instance.platformIDLike ?? "").split(separator: " ").map(String.init))
        }
        let name = (instance.platformName ?? "").lowercased()
        let known: [(String, PatchOperatingSystem)] = [
            ("ubuntu", .ubuntu), ("debian", .debian), ("rocky", .rockyLinux), ("alma", .almaLinux), ("red hat", .redhatEnterpriseLinux),
            ("oracle", .oracleLinux), ("centos", .centos), ("fedora", .fedora), ("amazon linux", .amazonLinux2023),
        ]
        return known.first { name.contains($0.0) }?.1
    }
}
