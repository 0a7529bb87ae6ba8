import Foundation
import TenderAPI
import TenderPatching
import TenderWire

/// Patch baselines for operators: create, change, list, delete, the default per
/// operating system and patch groups; and, for patch runs, which baseline an
/// instance gets. The predefined baselines are read-only and always listed.
public struct BaselineService: Sendable {
    let store: any PatchStore

    init(store: any PatchStore) {
        self.store = store
    }

    public static let maxDescriptionLength = 1024
    public static let maxPatchGroupLength = 256

    public func create(_ request: BaselineRequest, now: Date = Date()) async throws -> BaselineInfo {
        let id = "pb-" + Identifiers.randomHex(17)
        let baseline = try Self.baseline(from: request, id: id)
        try await store.createBaseline(PatchBaselineRecord(id: id, name: baseline.name, operatingSystem: baseline.operatingSystem.rawValue,
                                                           description: request.description, bodyJSON: try Self.encode(baseline), createdAt: now, updatedAt: now))
        return try await show(id)
    }

    /// Replaces the whole baseline (its operating system stays what it was).
    public func update(_ id: String, _ request: BaselineRequest, now: Date = Date()) async throws -> BaselineInfo {
        try Self.refuseChange(to: id)
        guard let existing = try await store.baseline(id: id) else { throw TenderError.notFound("baseline \(id) does not exist") }
        let baseline = try Self.baseline(from: request, id: id)
        guard baseline.operatingSystem.rawValue == existing.operatingSystem else {
            throw TenderError.validation("operatingSystem: baseline \(id) is for \(existing.operatingSystem); create a new baseline for \(baseline.operatingSystem.rawValue)")
        }
        let record = PatchBaselineRecord(id: id, name: baseline.name, operatingSystem: existing.operatingSystem, description: request.description,
                                         bodyJSON: try Self.encode(baseline), createdAt: existing.createdAt, updatedAt: now)
        guard try await store.updateBaseline(record) else { throw TenderError.notFound("baseline \(id) does not exist") }
        return try await show(id)
    }

    public func list() async throws -> [BaselineInfo] {
        let context = try await Context(store)
        let stored = try await store.baselines()
        return try PredefinedBaselines.all.map { context.info($0, record: nil) } + stored.map { context.info(try Self.decode($0), record: $0) }
    }

    public func show(_ id: String) async throws -> BaselineInfo {
        let context = try await Context(store)
        let (baseline, record) = try await find(id)
        return context.info(baseline, record: record)
    }

    public func delete(_ id: String) async throws {
        try Self.refuseChange(to: id)
        guard try await store.deleteBaseline(id: id) else { throw TenderError.notFound("baseline \(id) does not exist") }
    }

    /// Makes the baseline its operating system's default.
    public func setDefault(_ id: String) async throws -> BaselineInfo {
        let (baseline, _) = try await find(id)
        try await store.setDefaultBaseline(id, operatingSystem: baseline.operatingSystem.rawValue)
        return try await show(id)
    }

    public func registerPatchGroup(_ id: String, _ request: PatchGroupRequest) async throws -> PatchGroupInfo {
        let group = try Self.patchGroup(request.patchGroup)
        let (baseline, _) = try await find(id)
        try await store.registerPatchGroup(PatchGroupRecord(patchGroup: group, operatingSystem: baseline.operatingSystem.rawValue, baselineID: id))
        return PatchGroupInfo(patchGroup: group, operatingSystem: baseline.operatingSystem.rawValue, baselineId: id)
    }

    public func deregisterPatchGroup(_ id: String, _ patchGroup: String) async throws {
        _ = try await find(id)
        guard try await store.deregisterPatchGroup(patchGroup, baselineID: id) else {
            throw TenderError.notFound("patch group '\(String(patchGroup.prefix(100)))' is not registered with baseline \(id)")
        }
    }

    public func patchGroups() async throws -> [PatchGroupInfo] {
        try await store.patchGroups().map { PatchGroupInfo(patchGroup: $0.patchGroup, operatingSystem: $0.operatingSystem, baselineId: $0.baselineID) }
    }

    /// The baseline a patch run uses on an instance of `patchGroup` (nil: none) running
    /// `operatingSystem`: the group's baseline for that system, else the system's
    /// default, else the predefined one.
    public func resolve(patchGroup: String?, operatingSystem: PatchOperatingSystem) async throws -> PatchBaseline {
        try await resolver().resolve(patchGroup: patchGroup, operatingSystem: operatingSystem)
    }

    /// Patch groups, defaults and baselines read once, for resolving many instances
    /// (a patch run on ten thousand) without a query each.
    func resolver() async throws -> BaselineResolver {
        var stored: [String: PatchBaseline] = [:]
        for record in try await store.baselines() { stored[record.id] = try Self.decode(record) }
        return BaselineResolver(groups: try await store.patchGroups(), defaults: try await store.defaultBaselines(), stored: stored)
    }

    // MARK: helpers

    /// What every listing needs besides the baselines: defaults and patch groups.
    private struct Context {
        let defaults: [String: String]
        let groups: [PatchGroupRecord]

        init(_ store: any PatchStore) async throws {
            defaults = try await store.defaultBaselines()
            groups = try await store.patchGroups()
        }

        func info(_ baseline: PatchBaseline, record: PatchBaselineRecord?) -> BaselineInfo {
            let os = baseline.operatingSystem.rawValue
            let isDefault = defaults[os].map { $0 == baseline.id } ?? PredefinedBaselines.isPredefined(baseline.id)
            return BaselineInfo(baseline, description: record?.description ?? (record == nil ? "Tender's predefined baseline for \(os)" : nil),
                                predefined: record == nil, defaultBaseline: isDefault,
                                patchGroups: groups.filter { $0.baselineID == baseline.id }.map(\.patchGroup),
                                createdAt: record?.createdAt, updatedAt: record?.updatedAt)
        }
    }

    private func find(_ id: String) async throws -> (baseline: PatchBaseline, record: PatchBaselineRecord?) {
        if let predefined = PredefinedBaselines.all.first(where: { $0.id == id }) { return (predefined, nil) }
        guard Self.isBaselineID(id), let record = try await store.baseline(id: id) else {
            throw TenderError.notFound("baseline \(String(id.prefix(100))) does not exist")
        }
        return (try Self.decode(record), record)
    }

    private static func refuseChange(to id: String) throws {
        if PredefinedBaselines.isPredefined(id) {
            throw TenderError(.conflict, "baseline \(id) is predefined and read-only; create your own and make it the default")
        }
    }

    static func isBaselineID(_ id: String) -> Bool {
        id.hasPrefix("pb-") && id.utf8.count <= 64
    }

    static func encode(_ baseline: PatchBaseline) throws -> String {
        String(decoding: try JSON.encoder().encode(baseline), as: UTF8.self)
    }

    static func decode(_ record: PatchBaselineRecord) throws -> PatchBaseline {
        do {
            return try JSON.decoder().decode(PatchBaseline.self, from: Data(record.bodyJSON.utf8))
        } catch {
            throw TenderError(.internalError, "baseline \(record.id) is stored in a form this controller cannot read (written by a newer one?)")
        }
    }

    static func patchGroup(_ text: String) throws -> String {
        guard !text.isEmpty, text.count <= maxPatchGroupLength, !text.unicodeScalars.contains(where: DisplayText.isControl) else {
            throw TenderError.validation("patchGroup must be 1 to \(maxPatchGroupLength) characters, no control characters")
        }
        return text
    }

    /// The request as a baseline, or one validation error listing every problem by path.
    static func baseline(from request: BaselineRequest, id: String) throws -> PatchBaseline {
        var problems: [DocumentProblem] = []
        func problem(_ path: String, _ message: String) { problems.append(DocumentProblem(path: path, message: message)) }
        func enumeration<E: RawRepresentable & CaseIterable>(_ text: String?, _ path: String, default value: E) -> E where E.RawValue == String {
            guard let text else { return value }
            if let parsed = E(rawValue: text.uppercased()) { return parsed }
            problem(path, "\"\(String(text.prefix(50)))\" is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            return value
        }
        let name = request.name
        if !(3...128).contains(name.count) || !name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }) {
            problem("name", "must be 3 to 128 of letters, digits, - _ and .")
        }
        if let description = request.description, description.count > maxDescriptionLength {
            problem("description", "is longer than \(maxDescriptionLength) characters")
        }
        let os = enumeration(request.operatingSystem, "operatingSystem", default: PatchOperatingSystem.debian)
        func filters(_ given: [BaselineRequest.Filter]?, _ path: String) -> [PatchFilter] {
            (given ?? []).enumerated().compactMap { index, filter in
                guard let key = PatchFilterKey(rawValue: filter.key.uppercased()) else {
                    problem("\(path)[\(index)].key", "\"\(String(filter.key.prefix(50)))\" is not one of \(PatchFilterKey.allCases.map(\.rawValue).joined(separator: ", "))")
                    return nil
                }
                return PatchFilter(key: key, values: filter.values)
            }
        }
        let rules = (request.approvalRules ?? []).enumerated().map { index, rule in
            ApprovalRule(filters: filters(rule.filters, "approvalRules[\(index)].filters"),
                         complianceLevel: enumeration(rule.complianceLevel, "approvalRules[\(index)].complianceLevel", default: ComplianceLevel.unspecified),
                         enableNonSecurity: rule.enableNonSecurity ?? false, approveAfterDays: rule.approveAfterDays)
        }
        func specs(_ given: [String]?, _ path: String) -> [PackageSpec] {
            let list = given ?? []
            guard list.count <= PatchBaseline.maxListedPackages else {
                problem(path, "\(list.count) packages, at most \(PatchBaseline.maxListedPackages)")
                return []
            }
            return list.enumerated().compactMap { index, text in PackageSpec.parse(text, path: "\(path)[\(index)]", problems: &problems) }
        }
        let baseline = PatchBaseline(
            id: id, name: name, operatingSystem: os, approvalRules: rules, globalFilters: filters(request.globalFilters, "globalFilters"),
            approvedPatches: specs(request.approvedPatches, "approvedPatches"),
            approvedPatchesComplianceLevel: enumeration(request.approvedPatchesComplianceLevel, "approvedPatchesComplianceLevel", default: ComplianceLevel.unspecified),
            approvedPatchesEnableNonSecurity: request.approvedPatchesEnableNonSecurity ?? false,
            rejectedPatches: specs(request.rejectedPatches, "rejectedPatches"),
            rejectedPatchesAction: enumeration(request.rejectedPatchesAction, "rejectedPatchesAction", default: RejectedPatchesAction.allowAsDependency))
        // The baseline's own rules (keys per OS, bounds), for what parsed.
        let known = Set(problems.map(\.path))
        problems += baseline.problems.filter { !known.contains($0.path) }
        guard problems.isEmpty else { throw TenderError.problems(problems) }
        return baseline
    }
}

/// Which baseline an instance gets, from a snapshot of the patch configuration.
struct BaselineResolver: Sendable {
    let groups: [PatchGroupRecord]
    let defaults: [String: String]
    let stored: [String: PatchBaseline]

    func resolve(patchGroup: String?, operatingSystem: PatchOperatingSystem) throws -> PatchBaseline {
        if let patchGroup, let group = groups.first(where: { $0.patchGroup == patchGroup && $0.operatingSystem == operatingSystem.rawValue }) {
            return try baseline(group.baselineID)
        }
        if let id = defaults[operatingSystem.rawValue] {
            return try baseline(id)
        }
        return PredefinedBaselines.baseline(for: operatingSystem)
    }

    private func baseline(_ id: String) throws -> PatchBaseline {
        if let predefined = PredefinedBaselines.all.first(where: { $0.id == id }) { return predefined }
        guard let baseline = stored[id] else { throw TenderError(.internalError, "baseline \(id) is referenced but not stored") }
        return baseline
    }
}
