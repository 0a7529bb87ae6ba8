/// What the code that opens the store needs, and no service: bringing the schema up
/// to date before anything is served, and closing the connections at the end.
public protocol StoreLifecycle: Sendable {
    /// Runs pending migrations. Safe to call from several replicas at once.
    func migrate() async throws
    /// The schema version the database is at after `migrate()`.
    func schemaVersion() async throws -> Int
    func shutdown() async
}
