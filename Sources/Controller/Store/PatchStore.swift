import Foundation

/// Patch baselines, the default baseline per operating system, and patch groups.
/// Predefined baselines are not stored: they are code (`PredefinedBaselines`).
public protocol PatchStore: Sendable {
    /// Stores a new baseline; `conflict` if its name is in use.
    func createBaseline(_ record: PatchBaselineRecord) async throws
    /// Replaces a baseline's name, description and body; false if unknown;
    /// `conflict` if the new name is another baseline's.
    func updateBaseline(_ record: PatchBaselineRecord) async throws -> Bool
    func baseline(id: String) async throws -> PatchBaselineRecord?
    /// Every stored baseline, by name.
    func baselines() async throws -> [PatchBaselineRecord]
    /// False if unknown; `conflict` while it is a default or serves a patch group.
    func deleteBaseline(id: String) async throws -> Bool
    /// Makes `baselineID` (stored or predefined) the default for `operatingSystem`.
    func setDefaultBaseline(_ baselineID: String, operatingSystem: String) async throws
    /// Operating system → the baseline set as its default (only those set).
    func defaultBaselines() async throws -> [String: String]
    /// `conflict` if the group already has a baseline for that operating system.
    func registerPatchGroup(_ group: PatchGroupRecord) async throws
    /// False if the group is not registered with that baseline.
    func deregisterPatchGroup(_ patchGroup: String, baselineID: String) async throws -> Bool
    func patchGroups() async throws -> [PatchGroupRecord]
}

/// A stored baseline; `bodyJSON` is the `PatchBaseline` as JSON.
public struct PatchBaselineRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var operatingSystem: String
    public var description: String?
    public var bodyJSON: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, name: String, operatingSystem: String, description: String?, bodyJSON: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.operatingSystem = operatingSystem
        self.description = description
        self.bodyJSON = bodyJSON
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A patch group's baseline for one operating system.
public struct PatchGroupRecord: Sendable, Equatable {
    public var patchGroup: String
    public var operatingSystem: String
    public var baselineID: String

    public init(patchGroup: String, operatingSystem: String, baselineID: String) {
        self.patchGroup = patchGroup
        self.operatingSystem = operatingSystem
        self.baselineID = baselineID
    }
}
