import TenderWire

/// Spooled work not yet started, in arrival order; the worker starts from the front
/// while it has free slots. In memory only: after a restart the spool rebuilds it.
struct WorkQueue: Sendable {
    private var items: [RunInvocation] = []

    var isEmpty: Bool { items.isEmpty }

    func contains(_ id: String) -> Bool { items.contains { $0.invocationId == id } }

    mutating func append(_ run: RunInvocation) { items.append(run) }

    /// Drops `id` if it waits here (a cancel before it started).
    mutating func remove(_ id: String) { items.removeAll { $0.invocationId == id } }

    mutating func next() -> RunInvocation? { items.isEmpty ? nil : items.removeFirst() }
}
