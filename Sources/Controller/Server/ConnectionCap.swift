import Synchronization

/// Counts the open connections of one listener, in all and per remote address, and
/// says whether one more may be admitted. Shared by every event loop of the
/// listener, hence the lock (held for a dictionary update per accept and close).
/// The per-address map only holds addresses with open connections, so its size is
/// bounded by `maxConnections`.
final class ConnectionCap: Sendable {
    enum Refusal: Equatable, Sendable {
        case total(limit: Int)
        case perAddress(limit: Int)
    }

    private struct Counts {
        var total = 0
        var byAddress: [String: Int] = [:]
    }

    let maxConnections: Int
    let maxConnectionsPerAddress: Int
    private let counts = Mutex(Counts())

    init(maxConnections: Int, maxConnectionsPerAddress: Int) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }

    convenience init(_ limits: ConnectionLimits) {
        self.init(maxConnections: limits.maxConnections, maxConnectionsPerAddress: limits.maxConnectionsPerAddress)
    }

    /// Counts the connection in and returns nil, or counts nothing and says which cap it hit.
    /// `address` nil (no IP peer) counts towards the total only. Every admission must be
    /// followed by exactly one `release` with the same address.
    func admit(address: String?) -> Refusal? {
        counts.withLock { counts in
            guard counts.total < maxConnections else { return .total(limit: maxConnections) }
            if let address {
                let open = counts.byAddress[address, default: 0]
                guard open < maxConnectionsPerAddress else { return .perAddress(limit: maxConnectionsPerAddress) }
                counts.byAddress[address] = open + 1
            }
            counts.total += 1
            return nil
        }
    }

    func release(address: String?) {
        counts.withLock { counts in
            counts.total = max(0, counts.total - 1)
            guard let address, let open = counts.byAddress[address] else { return }
            counts.byAddress[address] = open > 1 ? open - 1 : nil
        }
    }

    /// (open connections, distinct addresses): for tests and logs.
    var snapshot: (total: Int, addresses: Int) {
        counts.withLock { ($0.total, $0.byAddress.count) }
    }
}
