/// The OpenAPI description of the operator API, kept in `openapi.json` beside this
/// file and compiled into the binary (so `/v1/openapi.json` needs no files at run time).
enum OpenAPIDocument {
    static var bytes: [UInt8] { PackageResources.openapi_json }
}
