import Foundation
import Logging

/// Writes one line per message to stderr, prefixed with its syslog priority (`<3>` error … `<7>` debug),
/// which journald reads as the message's priority when the daemon runs under systemd.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = Self.line(level: event.level, message: "\(event.message)", metadata: merged)
        // One write(2) per line, so lines from several threads never interleave.
        line.utf8CString.withUnsafeBufferPointer { buffer in
            _ = Foundation.write(STDERR_FILENO, buffer.baseAddress, buffer.count - 1)
        }
    }

    /// The journal line: priority, message, metadata sorted by key, a newline. Control characters in
    /// any of them are escaped: a topic or a value from outside with "\n<2>…" in it must not forge a line
    /// of its own, at a priority of its choosing.
    public static func line(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = "<\(priority(level))>\(escaped(message))"
        if !metadata.isEmpty {
            line += " " + metadata.sorted { $0.key < $1.key }.map { "\(escaped($0.key))=\(escaped("\($0.value)"))" }.joined(separator: " ")
        }
        return line + "\n"
    }

    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.properties.generalCategory == .control:
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

/// Logs a repeated problem at most once per interval, saying how many were suppressed meanwhile, so a
/// device that sends garbage ten times a second cannot flood the journal.
public final class RateLimitedLog: @unchecked Sendable {
    private let lock = NSLock()
    private let interval: TimeInterval
    private var last: [String: (time: Date, suppressed: Int)] = [:]

    public init(interval: TimeInterval = 10) {
        self.interval = interval
    }

    /// Calls `emit` with the number suppressed since the last emission, or counts this one as suppressed.
    public func record(_ key: String, now: Date = Date(), emit: (Int) -> Void) {
        let suppressed: Int? = lock.withLock {
            if let entry = last[key], now.timeIntervalSince(entry.time) < interval {
                last[key] = (entry.time, entry.suppressed + 1)
                return nil
            }
            let suppressed = last[key]?.suppressed ?? 0
            last[key] = (now, 0)
            if last.count > 10_000 { last = last.filter { now.timeIntervalSince($0.value.time) < interval } }
            return suppressed
        }
        if let suppressed { emit(suppressed) }
    }
}
