import Foundation
import StoreyCore

/// Times and durations as an operator types them for a simulation or a replay.
public enum PlaybackTime {
    /// `now`, a time relative to now (`-7d`, `-90m`), RFC 3339 (`2026-11-25T09:00:00+08:00`) or a local date
    /// (`2026-11-25`: its midnight in `timeZone`) → milliseconds since the epoch.
    public static func instant(_ text: String, now: Int64, timeZone: TimeZone) -> Int64? {
        if text == "now" { return now }
        if text.hasPrefix("-") || text.hasPrefix("+"), let seconds = duration(String(text.dropFirst())) {
            return now + (text.hasPrefix("-") ? -1 : 1) * Int64(seconds * 1000)
        }
        if let date = LocalDate(text) {
            return LocalInstant(date: date, minuteOfDay: 0).milliseconds(in: timeZone)
        }
        let formats = [Date.ISO8601FormatStyle(includingFractionalSeconds: true), Date.ISO8601FormatStyle()]
        for format in formats {
            if let date = try? format.parse(text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        }
        return nil
    }

    /// `90s`, `40m`, `6h`, `2d`, `1w` → seconds.
    public static func duration(_ text: String) -> Double? {
        guard let unit = text.last, let number = Double(text.dropLast()), number >= 0, number.isFinite else { return nil }
        switch unit {
        case "s": return number
        case "m": return number * 60
        case "h": return number * 3600
        case "d": return number * 86400
        case "w": return number * 7 * 86400
        default: return nil
        }
    }
}
