import Foundation

/// A package root a patch run can act on (`--package-root`), in a temp directory.
public protocol SandboxSystem: AnyObject {
    /// The temp directory holding everything (removed with the sandbox).
    var directory: URL { get }
    /// The package root inside it.
    var root: URL { get }
}

/// What the apt and dnf sandboxes share: running a build tool, and giving a root
/// the shell and tools its packages' scripts run with (chrooted into the root).
public enum SandboxTools {
    /// Runs `executable` and returns its stdout (or writes it to `output`, and
    /// returns ""); throws with its stderr when it fails.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:],
                           output file: FileHandle? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = file ?? out
        process.standardError = err
        try process.run()
        if file != nil { try out.fileHandleForWriting.close() }
        // stderr is drained on another thread so a chatty tool cannot fill its pipe
        // while stdout is read.
        let errors = SandboxOutput()
        let reader = Thread { errors.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = errors.wait()
        guard process.terminationStatus == 0 else {
            throw SandboxError(message: "\(executable) \(arguments.joined(separator: " ")) failed: \(String(decoding: stderr, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Package managers run scripts chrooted into the root: copies in `/bin/sh`
    /// (dash) and the few tools test scripts use, with the libraries they need.
    public static func copyShellTools(into root: URL) throws {
        let tools = ["/bin/sh": "/bin/dash", "/bin/touch": "/usr/bin/touch", "/bin/sleep": "/bin/sleep", "/bin/cat": "/bin/cat", "/bin/rm": "/bin/rm"]
        var libraries = Set<String>()
        for (inside, outside) in tools {
            try copy(outside, to: inside, in: root)
            for line in try run("/usr/bin/ldd", [outside]).split(separator: "\n") {
                // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
                let path = line.split(separator: "=>").last?.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init)
                if let path, path.hasPrefix("/") { libraries.insert(path) }
            }
        }
        for library in libraries { try copy(library, to: library, in: root) }
    }

    /// SIGKILL to every process whose command line names `path` or that runs
    /// chrooted into it (the package manager and the scripts it started): what a
    /// power cut does to an install.
    public static func killProcesses(using path: String) throws {
        let own = getpid()
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = Int32(entry), pid != own else { continue }
            guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let cmdline = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            let root = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/root")) ?? "/"
            if cmdline.contains(path) || root.hasPrefix(path) { kill(pid, SIGKILL) }
        }
    }

    private static func copy(_ path: String, to inside: String, in root: URL) throws {
        let target = root.appendingPathComponent(String(inside.dropFirst()))
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: target.path) { return }
        try FileManager.default.copyItem(at: URL(fileURLWithPath: path).resolvingSymlinksInPath(), to: target)
    }
}

public struct SandboxError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// One value handed from the stderr reader thread to the caller.
final class SandboxOutput: @unchecked Sendable {
    // Safe: `value` is only touched under `condition`'s lock.
    private let condition = NSCondition()
    private var value: Data?

    func set(_ data: Data) {
        condition.lock()
        value = data
        condition.signal()
        condition.unlock()
    }

    func wait() -> Data {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value ?? Data()
    }
}
