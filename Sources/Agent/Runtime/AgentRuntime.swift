#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import CAgentRuntime
#endif
import NIOCore

/// Process-wide settings of the agent, applied before anything starts.
public enum AgentRuntime {
    /// One event-loop thread and one blocking-pool thread: the agent holds one
    /// connection and runs a handful of scripts, so more threads would only cost
    /// memory (each thread's stack and malloc arena) on every managed host.
    /// Must run before the first use of NIO's shared event loop group.
    public static func useOneThread() {
        NIOSingletons.groupLoopCountSuggestion = 1
        NIOSingletons.blockingPoolThreadCountSuggestion = 1
    }

    /// Keeps the C allocator's footprint close to what is in use. By default glibc
    /// gives threads that allocate at the same time arenas of their own (up to eight
    /// per core), and after a large block is freed it raises the size from which
    /// blocks get a mapping of their own, so the 256 KiB output pieces and their
    /// encodings pile up in arenas that are not given back: the agent's peak while
    /// streaming 100 MB of output varied from 24 to 89 MB between runs of one build.
    /// Two arenas, and a fixed 128 KiB threshold: a large block is unmapped when it is
    /// freed. Called first thing in `tender-agent run`.
    public static func boundAllocator() {
        #if canImport(Glibc)
        _ = tender_bound_allocator()
        #endif
    }
}

#if canImport(Glibc)
import Glibc

extension AgentRuntime {
    /// Gives back the memory only start-up needed, once the agent is connected and
    /// settled. Start-up (argument parsing, TLS and certificate setup, the Swift
    /// runtime's first protocol lookups) touches pages all over a large static binary,
    /// which the kernel maps in 64 KiB at a time; the steady state (a heartbeat, a
    /// message now and then) needs a fraction of them.
    ///
    /// - The code mapping (r-xp) is dropped with `MADV_DONTNEED`: its pages are clean
    ///   copies of the executable file, so any needed again come back from the page
    ///   cache on first touch.
    /// - The other mappings of the executable (read-only data, which may hold relocated
    ///   pointers, and writable data) get `MADV_PAGEOUT`, which only ever reclaims the
    ///   way memory pressure would: clean pages are dropped, changed ones kept (there
    ///   is no swap to write them to) or swapped, never lost.
    ///
    /// Returns the bytes of mappings advised, for the log.
    @discardableResult
    public static func releaseStartupPages() -> Int {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
              let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return 0 }
        var released = 0
        for line in maps.split(separator: "\n") {
            // start-end perms offset dev inode path
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5...].joined(separator: " ") == exe else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), end > start,
                  let address = UnsafeMutableRawPointer(bitPattern: start) else { continue }
            let advice = fields[1] == "r-xp" ? MADV_DONTNEED : Self.pageOut
            if madvise(address, Int(end - start), advice) == 0 { released += Int(end - start) }
        }
        return released
    }

    /// `MADV_PAGEOUT` (Linux 5.4+); older kernels refuse it and nothing happens.
    private static let pageOut: Int32 = 21
}
#endif
