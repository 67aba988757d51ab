import Foundation
import StoreyCore

/// Reads the timestamps recorded data comes with: RFC 3339 / ISO 8601 (`2021-09-07T00:00:00+08:00`),
/// `2021-09-07 00:00 +08:00`, `2021-09-07 00:00:00`, and spreadsheet exports such as `7/1/18 0:00`
/// (month/day/year). A stamp without an offset is read in `timeZone`; without one, it is refused.
public final class RecordedTimestampParser: @unchecked Sendable {
    /// Formats tried in turn; the first that reads the text wins. ICU reads `7/1/18` with `yyyy-MM-dd` as the
    /// year 7, so slashed dates only meet the month/day/year formats, and a year outside 1970–2200 is refused.
    private let withOffset: [DateFormatter]
    private let withoutOffset: [DateFormatter]
    private let slashed: [DateFormatter]
    /// The format that read the last stamp, tried first: a file keeps one format.
    private var last: DateFormatter?

    public let timeZone: TimeZone?

    public init(timeZone: TimeZone?) {
        self.timeZone = timeZone
        func formatter(_ format: String, zone: TimeZone?) -> DateFormatter {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.calendar = Calendar(identifier: .gregorian)
            formatter.timeZone = zone ?? TimeZone(identifier: "UTC")
            formatter.isLenient = false
            formatter.dateFormat = format
            // Two-digit years (`7/1/18`) are 1970–2069.
            formatter.twoDigitStartDate = Date(timeIntervalSince1970: 0)
            return formatter
        }
        withOffset = [
            "yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX", "yyyy-MM-dd'T'HH:mmXXXXX",
            "yyyy-MM-dd HH:mm:ss XXXXX", "yyyy-MM-dd HH:mm XXXXX", "yyyy-MM-dd HH:mm:ssXXXXX", "yyyy-MM-dd HH:mmXXXXX",
        ].map { formatter($0, zone: nil) }
        withoutOffset = ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm"]
            .map { formatter($0, zone: timeZone) }
        slashed = ["M/d/yy H:mm", "M/d/yy H:mm:ss", "M/d/yyyy H:mm", "M/d/yyyy H:mm:ss"].map { formatter($0, zone: timeZone) }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unreadable(String)
        case noOffset(String)

        public var description: String {
            switch self {
            case .unreadable(let text): "\"\(text)\" is not a timestamp this replayer reads (e.g. 2021-09-07 00:00 +08:00, 2021-09-07T00:00:00Z, 7/1/18 0:00)"
            case .noOffset(let text): "\"\(text)\" has no UTC offset; give --time-zone (e.g. +07:00 or Asia/Bangkok)"
            }
        }
    }

    /// Milliseconds since the epoch.
    public func milliseconds(_ raw: String) -> Result<Int64, Failure> {
        let text = raw.trimmedOfSpaces
        if let timeZone, let milliseconds = Self.spreadsheetStamp(text, in: timeZone) { return .success(milliseconds) }
        let zulu = text.hasSuffix("Z") ? String(text.dropLast()) + "+00:00" : text
        let candidates = text.contains("/") ? slashed : withOffset + withoutOffset
        for formatter in [last].compactMap({ $0 }) + candidates {
            guard let date = formatter.date(from: zulu) else { continue }
            // 1970-01-01 to 2200-01-01: anything else is a misreading.
            guard date.timeIntervalSince1970 >= 0, date.timeIntervalSince1970 < 7_258_118_400 else { continue }
            let isLocal = !withOffset.contains { $0 === formatter }
            if isLocal && timeZone == nil { return .failure(.noOffset(text)) }
            last = formatter
            return .success(Int64((date.timeIntervalSince1970 * 1000).rounded()))
        }
        return .failure(.unreadable(text))
    }

    /// `M/D/YY H:MM`, the spreadsheet export a year of hourly rows comes in, read directly: ICU's parser
    /// costs tens of microseconds a stamp (it clones itself on every call on Linux). Anything else, or
    /// anything out of range, is left to the formatters.
    static func spreadsheetStamp(_ text: String, in timeZone: TimeZone) -> Int64? {
        var numbers: [Int] = []
        var current = -1
        var separators: [Character] = []
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                current = (current < 0 ? 0 : current * 10) + digit
                if current > 9999 { return nil }
            } else if current >= 0, "/ :".contains(character) {
                numbers.append(current)
                separators.append(character)
                current = -1
            } else {
                return nil
            }
        }
        guard current >= 0 else { return nil }
        numbers.append(current)
        guard separators == ["/", "/", " ", ":"], numbers.count == 5 else { return nil }
        let (month, day, shortYear, hour, minute) = (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4])
        // Two-digit years are 1970–2069, as the formatters read them.
        guard shortYear < 100, (1...12).contains(month), hour < 24, minute < 60 else { return nil }
        let year = shortYear < 70 ? 2000 + shortYear : 1900 + shortYear
        guard (1...LocalDate.daysIn(month: month, year: year)).contains(day) else { return nil }
        return LocalInstant(date: LocalDate(year: year, month: month, day: day), minuteOfDay: hour * 60 + minute).milliseconds(in: timeZone)
    }

    /// `+07:00`, `-05:30`, `UTC`, or a tz database name (`Asia/Bangkok`).
    public static func timeZone(_ text: String) -> TimeZone? {
        if let zone = TimeZone(identifier: text) { return zone }
        let sign: Int
        switch text.first {
        case "+": sign = 1
        case "-": sign = -1
        default: return nil
        }
        let parts = text.dropFirst().split(separator: ":")
        guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), hours <= 14, minutes < 60 else { return nil }
        return TimeZone(secondsFromGMT: sign * (hours * 3600 + minutes * 60))
    }
}
