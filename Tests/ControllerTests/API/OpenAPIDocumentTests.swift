import Foundation
import Logging
import TenderAPI
import TenderWire
import Testing

@testable import Controller

/// Keeps `Sources/Controller/API/openapi.json` honest: it must describe exactly the
/// routes in `OperatorAPI.routes`, with the roles they check, and be what the
/// controller serves at `/v1/openapi.json`.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    /// What the test compares of a route: everything but its handler.
    struct RouteSignature: Hashable, CustomStringConvertible {
        let method: String
        let path: String
        let role: Role?
        var key: String { "\(method) \(path)" }
        var description: String { key }
    }

    static let httpMethods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    static var documentURL: URL {
        // Tests/ControllerTests/API/OpenAPIDocumentTests.swift -> package root.
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Controller/API/openapi.json")
    }

    /// The route table of a real `OperatorAPI` over a throwaway SQLite store and CA
    /// (no server is started; the store is not even migrated, nothing is called).
    static func routeTable() async throws -> [RouteSignature] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tender-openapi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let ca = try CertificateAuthority.loadOrCreate(in: dir, logger: logger)
        let store = try await SQLStore.sqlite(path: dir.appendingPathComponent("tender.db").path, logger: logger)
        let registry = ConnectionRegistry()
        let events = FleetEvents()
        events.subscribe(AgentSessionHandler(store: store, registry: registry, ca: ca, heartbeatInterval: 10, heartbeatTimeout: 30, events: events, logger: logger))
        let api = OperatorAPI(
            activations: ActivationService(store: store, caFingerprint: ca.fingerprint),
            instances: InstanceService(store: store, registry: registry, events: events),
            tokens: TokenService(store: store),
            documents: DocumentService(store: store),
            commands: nil,
            baselines: BaselineService(store: store),
            compliance: ComplianceService(store: store, baselines: BaselineService(store: store)),
            logger: logger
        )
        let signatures = api.routes.map { RouteSignature(method: $0.method.rawValue.uppercased(), path: $0.path, role: $0.role) }
        await store.shutdown()
        return signatures
    }

    static func loadDocument() throws -> [String: Any] {
        let data = try Data(contentsOf: documentURL)
        let object = try JSONSerialization.jsonObject(with: data)
        return try #require(object as? [String: Any], "openapi.json is not a JSON object")
    }

    /// Every operation in the document, keyed `METHOD /path`.
    static func operations(in document: [String: Any]) throws -> [String: [String: Any]] {
        let paths = try #require(document["paths"] as? [String: Any], "openapi.json has no 'paths' object")
        var out: [String: [String: Any]] = [:]
        for (path, item) in paths {
            let item = try #require(item as? [String: Any], "path item \(path) is not an object")
            for (method, operation) in item where httpMethods.contains(method) {
                out["\(method.uppercased()) \(path)"] = try #require(operation as? [String: Any], "\(method) \(path) is not an object")
            }
        }
        return out
    }

    @Test("parses as an OpenAPI 3.1 JSON document")
    func parses() throws {
        let document = try Self.loadDocument()
        let version = try #require(document["openapi"] as? String)
        #expect(version.hasPrefix("3.1."), "openapi version is \(version), expected 3.1.x")
        let info = try #require(document["info"] as? [String: Any])
        #expect(info["title"] is String)
        #expect(info["version"] as? String == TenderVersion.current)
    }

    @Test("describes exactly the routes in OperatorAPI.routes")
    func routesMatch() async throws {
        let routes = try await Self.routeTable()
        let tableKeys = Set(routes.map(\.key))
        #expect(tableKeys.count == routes.count, "OperatorAPI.routes has a duplicate (method, path)")
        let documentKeys = Set(try Self.operations(in: Self.loadDocument()).keys)

        let undocumented = tableKeys.subtracting(documentKeys).sorted()
        #expect(undocumented.isEmpty, "routes missing from openapi.json: \(undocumented.joined(separator: ", "))")
        let unrouted = documentKeys.subtracting(tableKeys).sorted()
        #expect(unrouted.isEmpty, "operations in openapi.json that OperatorAPI.routes does not serve: \(unrouted.joined(separator: ", "))")
    }

    @Test("x-tender-role and security match each route's role")
    func rolesMatch() async throws {
        let routes = try await Self.routeTable()
        let document = try Self.loadDocument()
        let operations = try Self.operations(in: document)

        let schemes = try #require((document["components"] as? [String: Any])?["securitySchemes"] as? [String: Any], "no components/securitySchemes")
        let bearerSchemes = Set(schemes.compactMap { name, value -> String? in
            guard let scheme = value as? [String: Any], scheme["type"] as? String == "http",
                  (scheme["scheme"] as? String)?.lowercased() == "bearer" else { return nil }
            return name
        })
        #expect(!bearerSchemes.isEmpty, "no http bearer security scheme in components/securitySchemes")

        for route in routes {
            guard let operation = operations[route.key] else { continue }  // reported by routesMatch
            let documented = operation["x-tender-role"] as? String
            #expect(documented == route.role?.rawValue,
                    "\(route.key): x-tender-role is \(documented ?? "absent"), the route needs \(route.role?.rawValue ?? "no token")")
            if operation["x-tender-role"] != nil, documented == nil {
                Issue.record("\(route.key): x-tender-role is not a string")
            }

            let requirements = (operation["security"] as? [[String: Any]]) ?? []
            let usesBearer = requirements.contains { !bearerSchemes.isDisjoint(with: $0.keys) }
            if route.role != nil {
                #expect(usesBearer, "\(route.key) needs a token but its operation has no bearer security requirement")
            } else {
                let anonymous = requirements.allSatisfy { $0.isEmpty }
                #expect(anonymous, "\(route.key) needs no token but its operation has a security requirement")
            }
        }
    }

    @Test("every operation has an operationId, summary, description and its path parameters")
    func operationsAreComplete() throws {
        let operations = try Self.operations(in: Self.loadDocument())
        var ids: [String: String] = [:]
        for (key, operation) in operations.sorted(by: { $0.key < $1.key }) {
            let id = operation["operationId"] as? String
            #expect(id?.isEmpty == false, "\(key) has no operationId")
            if let id {
                #expect(ids[id] == nil, "operationId \(id) is used by both \(ids[id] ?? "") and \(key)")
                ids[id] = key
            }
            #expect((operation["summary"] as? String)?.isEmpty == false, "\(key) has no summary")
            #expect((operation["description"] as? String)?.isEmpty == false, "\(key) has no description")
            #expect((operation["responses"] as? [String: Any])?.isEmpty == false, "\(key) has no responses")

            let path = String(key.split(separator: " ", maxSplits: 1)[1])
            let templated = Set(path.split(separator: "/").filter { $0.hasPrefix("{") && $0.hasSuffix("}") }.map { String($0.dropFirst().dropLast()) })
            let declared = Set(((operation["parameters"] as? [[String: Any]]) ?? []).compactMap { parameter -> String? in
                parameter["in"] as? String == "path" ? parameter["name"] as? String : nil
            })
            #expect(declared == templated, "\(key) declares path parameters \(declared.sorted()) but its path has \(templated.sorted())")
        }
    }

    @Test("every $ref resolves")
    func referencesResolve() throws {
        let document = try Self.loadDocument()
        var references: [(ref: String, at: String)] = []
        func collect(_ value: Any, at pointer: String) {
            if let object = value as? [String: Any] {
                for (key, child) in object {
                    if key == "$ref", let ref = child as? String { references.append((ref, pointer)) }
                    collect(child, at: pointer + "/" + key)
                }
            } else if let array = value as? [Any] {
                for (index, child) in array.enumerated() { collect(child, at: pointer + "/\(index)") }
            }
        }
        collect(document, at: "#")
        #expect(!references.isEmpty, "openapi.json uses no $ref at all; expected components to be referenced")

        var unresolved: [String] = []
        for (ref, at) in references {
            guard ref.hasPrefix("#/") else {
                unresolved.append("\(ref) (at \(at)): only local references are allowed")
                continue
            }
            var current: Any? = document
            for token in ref.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
                let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                if let object = current as? [String: Any] {
                    current = object[key]
                } else if let array = current as? [Any], let index = Int(key), array.indices.contains(index) {
                    current = array[index]
                } else {
                    current = nil
                }
                if current == nil { break }
            }
            if current == nil { unresolved.append("\(ref) (at \(at))") }
        }
        #expect(unresolved.isEmpty, "unresolved $ref: \(unresolved.joined(separator: "; "))")
    }

    @Test("the document served is the file in the repository")
    func servedBytesMatchFile() throws {
        let onDisk = try Data(contentsOf: Self.documentURL)
        #expect(Data(OpenAPIDocument.bytes) == onDisk, "OpenAPIDocument.bytes (\(OpenAPIDocument.bytes.count) bytes) differ from \(Self.documentURL.path) (\(onDisk.count) bytes); rebuild")
    }
}
