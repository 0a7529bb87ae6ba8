import Foundation
import SQLKit
import TenderWire

/// Patch baselines, defaults and patch groups.
extension SQLStore: PatchStore {
    public func createBaseline(_ r: PatchBaselineRecord) async throws {
        try await backend.transaction { db in
            if try await db.raw("SELECT id FROM patch_baselines WHERE name = \(bind: r.name)").first() != nil {
                throw TenderError(.conflict, "a baseline named '\(r.name)' already exists")
            }
            try await db.raw("""
                INSERT INTO patch_baselines (id, name, operating_system, description, body_json, created_at, updated_at)
                VALUES (\(bind: r.id), \(bind: r.name), \(bind: r.operatingSystem), \(bind: r.description), \(bind: r.bodyJSON),
                        \(bind: Millis.from(r.createdAt)), \(bind: Millis.from(r.updatedAt)))
                """).run()
        }
    }

    public func updateBaseline(_ r: PatchBaselineRecord) async throws -> Bool {
        try await backend.transaction { db in
            if try await db.raw("SELECT id FROM patch_baselines WHERE name = \(bind: r.name) AND id <> \(bind: r.id)").first() != nil {
                throw TenderError(.conflict, "another baseline is named '\(r.name)'")
            }
            return !(try await db.raw("""
                UPDATE patch_baselines SET name = \(bind: r.name), description = \(bind: r.description), body_json = \(bind: r.bodyJSON),
                    updated_at = \(bind: Millis.from(r.updatedAt))
                WHERE id = \(bind: r.id) RETURNING id
                """).all()).isEmpty
        }
    }

    public func baseline(id: String) async throws -> PatchBaselineRecord? {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM patch_baselines WHERE id = \(bind: id)").first().map(Self.baseline(from:))
        }
    }

    public func baselines() async throws -> [PatchBaselineRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM patch_baselines ORDER BY name").all().map(Self.baseline(from:))
        }
    }

    public func deleteBaseline(id: String) async throws -> Bool {
        try await backend.transaction { db in
            if let row = try await db.raw("SELECT operating_system FROM patch_baseline_defaults WHERE baseline_id = \(bind: id)").first() {
                let os = try row.decode(column: "operating_system", as: String.self)
                throw TenderError(.conflict, "baseline \(id) is the default for \(os); make another baseline the default first")
            }
            let groups = try await db.raw("SELECT patch_group FROM patch_groups WHERE baseline_id = \(bind: id) ORDER BY patch_group").all()
                .map { try $0.decode(column: "patch_group", as: String.self) }
            if !groups.isEmpty {
                throw TenderError(.conflict, "baseline \(id) serves patch group(s) \(groups.prefix(10).joined(separator: ", ")); deregister them first")
            }
            return !(try await db.raw("DELETE FROM patch_baselines WHERE id = \(bind: id) RETURNING id").all()).isEmpty
        }
    }

    public func setDefaultBaseline(_ baselineID: String, operatingSystem: String) async throws {
        try await backend.transaction { db in
            try await db.raw("DELETE FROM patch_baseline_defaults WHERE operating_system = \(bind: operatingSystem)").run()
            try await db.raw("INSERT INTO patch_baseline_defaults (operating_system, baseline_id) VALUES (\(bind: operatingSystem), \(bind: baselineID))").run()
        }
    }

    public func defaultBaselines() async throws -> [String: String] {
        try await backend.withDatabase { db in
            var defaults: [String: String] = [:]
            for row in try await db.raw("SELECT operating_system, baseline_id FROM patch_baseline_defaults").all() {
                defaults[try row.decode(column: "operating_system", as: String.self)] = try row.decode(column: "baseline_id", as: String.self)
            }
            return defaults
        }
    }

    public func registerPatchGroup(_ g: PatchGroupRecord) async throws {
        try await backend.transaction { db in
            if let row = try await db.raw("""
                SELECT baseline_id FROM patch_groups WHERE patch_group = \(bind: g.patchGroup) AND operating_system = \(bind: g.operatingSystem)
                """).first() {
                let existing = try row.decode(column: "baseline_id", as: String.self)
                throw TenderError(.conflict, "patch group '\(g.patchGroup)' already uses baseline \(existing) for \(g.operatingSystem); deregister it first")
            }
            try await db.raw("""
                INSERT INTO patch_groups (patch_group, operating_system, baseline_id)
                VALUES (\(bind: g.patchGroup), \(bind: g.operatingSystem), \(bind: g.baselineID))
                """).run()
        }
    }

    public func deregisterPatchGroup(_ patchGroup: String, baselineID: String) async throws -> Bool {
        try await backend.withDatabase { db in
            !(try await db.raw("""
                DELETE FROM patch_groups WHERE patch_group = \(bind: patchGroup) AND baseline_id = \(bind: baselineID) RETURNING patch_group
                """).all()).isEmpty
        }
    }

    public func patchGroups() async throws -> [PatchGroupRecord] {
        try await backend.withDatabase { db in
            try await db.raw("SELECT * FROM patch_groups ORDER BY patch_group, operating_system").all().map { row in
                PatchGroupRecord(patchGroup: try row.decode(column: "patch_group", as: String.self),
                                 operatingSystem: try row.decode(column: "operating_system", as: String.self),
                                 baselineID: try row.decode(column: "baseline_id", as: String.self))
            }
        }
    }

    private static func baseline(from row: any SQLRow) throws -> PatchBaselineRecord {
        PatchBaselineRecord(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            operatingSystem: try row.decode(column: "operating_system", as: String.self),
            description: try row.decode(column: "description", as: String?.self),
            bodyJSON: try row.decode(column: "body_json", as: String.self),
            createdAt: Millis.date(try row.decode(column: "created_at", as: Int.self)),
            updatedAt: Millis.date(try row.decode(column: "updated_at", as: Int.self)))
    }
}
