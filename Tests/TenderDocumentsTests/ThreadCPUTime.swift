import Foundation

/// CPU time the calling thread spends in `body`, for tests that bound the cost of
/// synchronous work: unlike the wall clock it does not grow when other processes
/// share the machine's cores.
func threadCPUTime(_ body: () throws -> Void) rethrows -> Duration {
    func now() -> Duration {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return .seconds(spec.tv_sec) + .nanoseconds(spec.tv_nsec)
    }
    let start = now()
    try body()
    return now() - start
}
