/// Turns many small writes that arrive at about the same time (thousands of agents
/// reporting at once) into one store transaction each round: while one batch is
/// being written, the next one gathers. A caller waits until its own item is
/// committed, so an acknowledgement sent afterwards is still the truth.
///
/// If a batch fails, its items are retried one by one, so one bad item cannot fail
/// the others.
actor WriteCoalescer<Item: Sendable, Output: Sendable> {
    typealias Flush = @Sendable ([Item]) async throws -> [Output]

    private let flush: Flush
    private let maxBatch: Int
    /// Who hears of an item's outcome: a waiting caller (`submit`), a callback, or nobody.
    private enum Waiter {
        case caller(CheckedContinuation<Output, any Error>)
        case callback(@Sendable (Output) -> Void)
        case none

        func resume(returning output: Output) {
            switch self {
            case .caller(let continuation): continuation.resume(returning: output)
            case .callback(let callback): callback(output)
            case .none: break
            }
        }

        func resume(throwing error: any Error) {
            if case .caller(let continuation) = self { continuation.resume(throwing: error) }
        }
    }

    private var queue: [(item: Item, waiter: Waiter)] = []
    private var draining = false

    /// `flush` must return one output per item, in order.
    init(maxBatch: Int = 2000, flush: @escaping Flush) {
        self.maxBatch = maxBatch
        self.flush = flush
    }

    func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            queue.append((item, .caller(continuation)))
            startDraining()
        }
    }

    /// Queues a write nobody waits for (its outcome is not needed to answer anyone);
    /// it is written in order with the others, and a failure is dropped. `completion`,
    /// if given, hears the outcome of a write that succeeded.
    func enqueue(_ item: Item, completion: (@Sendable (Output) -> Void)? = nil) {
        queue.append((item, completion.map { .callback($0) } ?? .none))
        startDraining()
    }

    private func startDraining() {
        if !draining {
            draining = true
            Task { await self.drain() }
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(maxBatch))
            queue.removeFirst(batch.count)
            do {
                let outputs = try await flush(batch.map(\.item))
                guard outputs.count == batch.count else {
                    throw CoalescerError(message: "a batched write returned \(outputs.count) results for \(batch.count) items")
                }
                for (entry, output) in zip(batch, outputs) { entry.waiter.resume(returning: output) }
            } catch where batch.count > 1 {
                for entry in batch {
                    do {
                        let outputs = try await flush([entry.item])
                        guard let output = outputs.first else { throw CoalescerError(message: "a write returned no result") }
                        entry.waiter.resume(returning: output)
                    } catch {
                        entry.waiter.resume(throwing: error)
                    }
                }
            } catch {
                for entry in batch { entry.waiter.resume(throwing: error) }
            }
        }
        draining = false
    }

    struct CoalescerError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
