import SQLKit

/// The part that differs between SQLite and PostgreSQL: how to get a connection,
/// how to run a transaction, and how to serialise migrations across processes.
/// Everything else (`SQLStore`) is one copy of SQL for both.
protocol SQLBackend: Sendable {
    var name: String { get }
    /// Runs `body` with a database handle (a pooled connection or the single SQLite one).
    func withDatabase<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` inside BEGIN/COMMIT, rolling back if it throws.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` holding a lock that excludes other controllers migrating the same database.
    func withMigrationLock<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func shutdown() async
}

/// A FIFO async mutex: SQLite has one writer, and one connection must not interleave
/// two transactions, so every use of the SQLite connection goes through this.
actor AsyncMutex {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func unlock() {
        if waiters.isEmpty {
            locked = false
        } else {
            waiters.removeFirst().resume()
        }
    }

    func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await lock()
        do {
            let value = try await body()
            unlock()
            return value
        } catch {
            unlock()
            throw error
        }
    }
}
