#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Writing files that hold secrets or state that must survive a crash.
public enum SecureFile {
    /// Writes `text` atomically (temp file + fsync + rename) with `mode` set before any
    /// byte is written, so a secret is never readable by others, not even briefly.
    public static func write(_ text: String, to url: URL, mode: mode_t) throws {
        try write(Data(text.utf8), to: url, mode: mode)
    }

    public static func write(_ data: Data, to url: URL, mode: mode_t) throws {
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-" + Identifiers.randomHex(8)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw posixError("cannot create \(tmp)") }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        fchmod(fd, mode)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    close(fd)
                    throw posixError("cannot write \(tmp)")
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else {
            close(fd)
            throw posixError("cannot sync \(tmp)")
        }
        close(fd)
        guard rename(tmp, url.path) == 0 else { throw posixError("cannot move \(tmp) to \(url.path)") }
        ok = true
        let dfd = open(dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Creates `url` (and parents) as a directory with `mode`, tightening it if it exists.
    public static func makeDirectory(_ url: URL, mode: mode_t) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        guard chmod(url.path, mode) == 0 else { throw posixError("cannot set permissions of \(url.path)") }
    }

    static func posixError(_ what: String) -> TenderError {
        TenderError(.internalError, "\(what): \(String(cString: strerror(errno)))")
    }
}
