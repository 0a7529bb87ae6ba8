import Foundation
import TenderWire

#if canImport(Glibc)
import Glibc
#endif

/// The controller's data dir: database, CA and key material, token, blobs.
/// Holding an exclusive lock on it keeps a second controller from sharing the
/// SQLite file and the CA (which would corrupt both).
public final class DataDirectory: Sendable {
    public let url: URL
    private let lockFD: Int32

    public init(_ url: URL) throws {
        self.url = url
        try SecureFile.makeDirectory(url, mode: 0o700)
        let lockPath = url.appendingPathComponent("controller.lock").path
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TenderError(.internalError, "cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw TenderError(.conflict, "another tender-controller is already using \(url.path)")
        }
        self.lockFD = fd
    }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit {
        flock(lockFD, LOCK_UN)
        close(lockFD)
    }
}
