import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Plain TCP sockets on loopback for tests that hold many connections open without
// speaking (or speak one byte at a time): no TLS, no HTTP, nothing to buffer.

/// Connections made by one test; all are closed by `closeAll()` (call it in a defer).
final class RawConnections: Sendable {
    private let fds = Mutex<[Int32]>([])

    /// A blocking connect to 127.0.0.1:`port`, optionally from another loopback source address.
    func connect(port: Int, from source: String? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket() failed: errno \(errno)") }
        if let source {
            var local = Self.address(source, port: 0)
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard bound == 0 else {
                closeSocket(fd)
                throw E2EError("bind(\(source)) failed: errno \(errno)")
            }
        }
        var remote = Self.address("127.0.0.1", port: port)
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connectSocket(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else {
            let error = errno
            closeSocket(fd)
            throw E2EError("connect to 127.0.0.1:\(port) failed: errno \(error)")
        }
        fds.withLock { $0.append(fd) }
        return fd
    }

    /// Which of `fds` the peer has closed (EOF or reset), without blocking.
    static func closedByPeer(_ fds: [Int32]) -> [Bool] {
        var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        _ = poll(&polls, nfds_t(polls.count), 0)
        return polls.map { entry in
            if entry.revents & Int16(POLLHUP | POLLERR) != 0 { return true }
            guard entry.revents & Int16(POLLIN) != 0 else { return false }
            var byte: UInt8 = 0
            let n = recv(entry.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            // Data would mean the server spoke; these tests only expect EOF.
            return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        }
    }

    /// Sends bytes, ignoring a closed peer (no SIGPIPE).
    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { sendSocket(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func close(_ fd: Int32) {
        let removed = fds.withLock { fds -> Bool in
            guard let index = fds.firstIndex(of: fd) else { return false }
            fds.remove(at: index)
            return true
        }
        if removed { closeSocket(fd) }
    }

    func closeAll() {
        let all = fds.withLock { fds -> [Int32] in
            defer { fds.removeAll() }
            return fds
        }
        for fd in all { closeSocket(fd) }
    }

    private static func address(_ ip: String, port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        _ = inet_pton(AF_INET, ip, &address.sin_addr)
        return address
    }
}

enum ProcessFiles {
    /// Open file descriptors of `pid` (entries of /proc/PID/fd).
    static func count(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// Raises this process's soft descriptor limit (children such as the controller inherit it).
    static func raiseLimit(to wanted: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(wanted) else { return }
        limit.rlim_cur = min(limit.rlim_max, rlim_t(wanted))
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

// The libc calls, by names the methods above do not shadow.
private func closeSocket(_ fd: Int32) { _ = close(fd) }
private func connectSocket(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 { connect(fd, address, length) }
private func sendSocket(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { send(fd, bytes, count, flags) }
