import Logging

/// One logging set-up for the executables: human-readable lines on stderr,
/// level from `--log-level` or `TENDER_LOG_LEVEL`.
public enum LogSetup {
    public static func bootstrap(level: String?) -> Logger.Level {
        let text = level ?? ProcessInfo.processInfo.environment["TENDER_LOG_LEVEL"] ?? "info"
        let parsed = Logger.Level(rawValue: text.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
        return parsed
    }

    public static func logger(_ label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
