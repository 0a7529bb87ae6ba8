import NIOConcurrencyHelpers
import Testing
@testable import Controller

@Suite("WriteCoalescer")
struct WriteCoalescerTests {
    struct Refused: Error {}

    @Test("concurrent submits share batches, and each caller gets its own result")
    func batches() async throws {
        let batchSizes = NIOLockedValueBox<[Int]>([])
        let coalescer = WriteCoalescer<Int, Int>(maxBatch: 50) { items in
            batchSizes.withLockedValue { $0.append(items.count) }
            try await Task.sleep(for: .milliseconds(5))
            return items.map { $0 * 2 }
        }
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<500 { group.addTask { (i, try await coalescer.submit(i)) } }
            var results: [Int: Int] = [:]
            for try await (i, doubled) in group { results[i] = doubled }
            return results
        }
        #expect(results.count == 500)
        #expect(results.allSatisfy { $0.value == $0.key * 2 })
        let sizes = batchSizes.withLockedValue { $0 }
        #expect(sizes.reduce(0, +) == 500)
        #expect(sizes.allSatisfy { $0 <= 50 })
        #expect(sizes.count < 100, "500 concurrent writes took \(sizes.count) batches")
    }

    @Test("a failing batch is retried item by item, so only the bad item fails")
    func isolatesFailures() async throws {
        let coalescer = WriteCoalescer<Int, Int> { items in
            try await Task.sleep(for: .milliseconds(2))
            if items.contains(13) { throw Refused() }
            return items
        }
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for i in 0..<40 { group.addTask { (i, (try? await coalescer.submit(i)) != nil) } }
            var outcomes: [Int: Bool] = [:]
            for await (i, ok) in group { outcomes[i] = ok }
            return outcomes
        }
        #expect(outcomes.filter { !$0.value }.map(\.key) == [13])
    }
}
