import TenderAPI
import TenderWire

/// The Patch Manager's part of the operator API: baselines, their defaults,
/// patch groups and compliance.
extension OperatorAPI {
    var patchingRoutes: [APIRoute] {
        [
            APIRoute(method: .get, path: "/v1/baselines", role: .readOnly) { _ in
                .json(.ok, try await baselines.list())
            },
            APIRoute(method: .post, path: "/v1/baselines", role: .operator) { call in
                .json(.created, try await baselines.create(try call.decode(BaselineRequest.self)))
            },
            APIRoute(method: .get, path: "/v1/baselines/{id}", role: .readOnly) { call in
                .json(.ok, try await baselines.show(try call.parameter("id")))
            },
            APIRoute(method: .put, path: "/v1/baselines/{id}", role: .operator) { call in
                .json(.ok, try await baselines.update(try call.parameter("id"), try call.decode(BaselineRequest.self)))
            },
            APIRoute(method: .delete, path: "/v1/baselines/{id}", role: .operator) { call in
                try await baselines.delete(try call.parameter("id"))
                return .noContent
            },
            APIRoute(method: .post, path: "/v1/baselines/{id}/default", role: .operator) { call in
                .json(.ok, try await baselines.setDefault(try call.parameter("id")))
            },
            APIRoute(method: .post, path: "/v1/baselines/{id}/patch-groups", role: .operator) { call in
                .json(.created, try await baselines.registerPatchGroup(try call.parameter("id"), try call.decode(PatchGroupRequest.self)))
            },
            APIRoute(method: .delete, path: "/v1/baselines/{id}/patch-groups/{group}", role: .operator) { call in
                try await baselines.deregisterPatchGroup(try call.parameter("id"), try call.parameter("group"))
                return .noContent
            },
            APIRoute(method: .get, path: "/v1/patch-groups", role: .readOnly) { _ in
                .json(.ok, try await baselines.patchGroups())
            },
            APIRoute(method: .get, path: "/v1/compliance", role: .readOnly) { _ in
                .json(.ok, try await compliance.list())
            },
            APIRoute(method: .get, path: "/v1/compliance-summary", role: .readOnly) { _ in
                .json(.ok, try await compliance.summary())
            },
            APIRoute(method: .get, path: "/v1/compliance/{instanceId}", role: .readOnly) { call in
                .json(.ok, try await compliance.show(try call.parameter("instanceId")))
            },
        ]
    }
}
