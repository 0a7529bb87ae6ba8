import Foundation
import TenderWire

/// Memory and CPU of one process, read from `/proc` (Linux): what the benchmark
/// reports is what the kernel accounts to that process alone.
public struct ProcessStats: Sendable {
    /// Resident set size now, in bytes.
    public var rssBytes: Int
    /// Peak resident set size over the process's life (`VmHWM`), in bytes.
    public var peakRssBytes: Int
    /// User plus system CPU time so far, in seconds.
    public var cpuSeconds: Double

    public static func read(pid: Int32) throws -> ProcessStats {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else {
            throw TenderError(.notFound, "process \(pid) is gone (no /proc/\(pid)/status)")
        }
        func kilobytes(_ field: String) -> Int {
            for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
                let number = line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
                return (number ?? 0) * 1024
            }
            return 0
        }
        return ProcessStats(rssBytes: kilobytes("VmRSS"), peakRssBytes: kilobytes("VmHWM"), cpuSeconds: try cpuSeconds(pid: pid))
    }

    /// utime + stime from `/proc/PID/stat`, in seconds.
    static func cpuSeconds(pid: Int32) throws -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else {
            throw TenderError(.notFound, "process \(pid) is gone (no /proc/\(pid)/stat)")
        }
        // Fields after the command name; utime and stime are fields 14 and 15 of the line.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else {
            throw TenderError(.internalError, "cannot parse /proc/\(pid)/stat")
        }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Samples a process's RSS in the background and keeps the highest value seen, for
/// peaks that `VmHWM` cannot isolate (it covers the whole life of the process).
public final class RSSSampler: Sendable {
    private let task: Task<Int, Never>

    public init(pid: Int32, every interval: Duration = .milliseconds(50)) {
        task = Task {
            var peak = 0
            while !Task.isCancelled {
                guard let stats = try? ProcessStats.read(pid: pid) else { break }
                peak = max(peak, stats.rssBytes)
                try? await Task.sleep(for: interval)
            }
            return peak
        }
    }

    /// Stops sampling and returns the highest RSS seen, in bytes.
    public func stop() async -> Int {
        task.cancel()
        return await task.value
    }
}

enum Units {
    static func megabytes(_ bytes: Int) -> Double { (Double(bytes) / 1_048_576 * 10).rounded() / 10 }
    static func rounded(_ value: Double, places: Int = 1) -> Double {
        let scale = pow(10, Double(places))
        return (value * scale).rounded() / scale
    }
}
