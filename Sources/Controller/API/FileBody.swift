import Foundation
import Hummingbird
import NIOCore
import NIOPosix

/// A response body read from a file in pieces on NIO's blocking-I/O pool, so a
/// gigabyte of output costs one piece of memory per download, not a gigabyte.
enum FileBody {
    static let pieceSize = 256 * 1024

    static func body(of url: URL, size: Int) -> ResponseBody {
        ResponseBody(contentLength: size) { writer in
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            var left = size
            while left > 0 {
                let want = min(pieceSize, left)
                let data = try await NIOThreadPool.singleton.runIfActive { try handle.read(upToCount: want) ?? Data() }
                // The file shrank under us (it never should): end rather than lie about the length.
                guard !data.isEmpty else { throw TenderFileError.shortRead }
                left -= data.count
                try await writer.write(ByteBuffer(bytes: data))
            }
            try await writer.finish(nil)
        }
    }

    struct TenderFileError: Error {
        static let shortRead = TenderFileError()
    }
}
