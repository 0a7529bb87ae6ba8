#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `stat(2)` says about a path. FoundationEssentials' `FileManager` has no
/// `ObjCBool` directory flag or typed attribute values on every platform, and the
/// agent links nothing more of Foundation; one system call is the honest answer.
struct FileStatus {
    let isDirectory: Bool
    let size: Int
    let modified: Date

    /// Nil when the path does not exist or cannot be examined (links are followed).
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        size = Int(info.st_size)
        #if canImport(Darwin)
        let time = info.st_mtimespec
        #else
        let time = info.st_mtim
        #endif
        modified = Date(timeIntervalSince1970: Double(time.tv_sec) + Double(time.tv_nsec) / 1e9)
    }

    static func isDirectory(_ path: String) -> Bool { FileStatus(path: path)?.isDirectory ?? false }
}
