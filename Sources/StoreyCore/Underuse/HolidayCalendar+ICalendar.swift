import Foundation

/// A holiday calendar file that could not be read; names the line so the operator can fix the file.
public struct ICalendarError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line of the (unfolded) property or event at fault.
    public var line: Int
    public var message: String

    public var description: String { "line \(line): \(message)" }
}

extension HolidayCalendar {
    /// Summaries that mark an event as a make-up working day rather than a holiday (Chinese public-holiday
    /// feeds publish 调休 Saturdays as events titled "补班" or "上班").
    public static let makeUpSummaryMarkers = ["补班", "上班", "make-up", "working day"]

    /// Reads the all-day events of an iCalendar (.ics) text: each VEVENT's days, from DTSTART to DTEND
    /// (exclusive, as RFC 5545 says) or a single day without one, are holidays; an event whose SUMMARY holds
    /// one of `makeUpMarkers` makes its days make-up working days worked as `makeUpWeekday`.
    ///
    /// Only what a holiday feed needs is understood; other components and properties are skipped.
    public init(
        iCalendar text: String, makeUpMarkers: [String] = HolidayCalendar.makeUpSummaryMarkers,
        makeUpWeekday: Weekday = .monday
    ) throws(ICalendarError) {
        self.init()
        var event: (line: Int, start: LocalDate?, end: LocalDate?, days: Int?, summary: String)?
        for (number, line) in Self.unfoldedLines(text) {
            let (name, value) = Self.property(line)
            switch name {
            case "BEGIN" where value.uppercased() == "VEVENT":
                event = (number, nil, nil, nil, "")
            case "END" where value.uppercased() == "VEVENT":
                guard let current = event else { throw ICalendarError(line: number, message: "END:VEVENT without BEGIN:VEVENT") }
                guard let start = current.start else {
                    throw ICalendarError(line: current.line, message: "event has no DTSTART; expected DTSTART;VALUE=DATE:YYYYMMDD")
                }
                let count = current.end.map { max(1, $0.daysSinceEpoch - start.daysSinceEpoch) } ?? current.days ?? 1
                guard count <= 366 else {
                    throw ICalendarError(line: current.line, message: "event lasts \(count) days; a holiday lasts at most a year")
                }
                let summary = current.summary.lowercased()
                let makeUp = makeUpMarkers.contains { summary.contains($0.lowercased()) }
                for offset in 0..<count {
                    let day = start.adding(days: offset)
                    if makeUp { addMakeUpDay(day, workedAs: makeUpWeekday) } else if makeUpDays[day] == nil { addHoliday(day) }
                }
                event = nil
            case "DTSTART", "DTEND":
                guard event != nil else { continue }
                guard let date = Self.date(value) else {
                    throw ICalendarError(line: number, message: "\(name) '\(value)' is not a date; expected YYYYMMDD")
                }
                if name == "DTSTART" { event?.start = date } else { event?.end = Self.endDate(value, date) }
            case "DURATION":
                // All-day holidays give whole days: P3D, or P1W.
                guard event != nil else { continue }
                let upper = value.uppercased()
                if upper.hasPrefix("P"), upper.hasSuffix("D"), let days = Int(upper.dropFirst().dropLast()) {
                    event?.days = days
                } else if upper.hasPrefix("P"), upper.hasSuffix("W"), let weeks = Int(upper.dropFirst().dropLast()) {
                    event?.days = weeks * 7
                }
            case "SUMMARY":
                event?.summary = value
            default:
                continue
            }
        }
        if let open = event { throw ICalendarError(line: open.line, message: "BEGIN:VEVENT is never closed by END:VEVENT") }
    }

    /// Lines with RFC 5545 folding undone (a line starting with a space or tab continues the one before),
    /// each with the number of the line it started on.
    static func unfoldedLines(_ text: String) -> [(Int, String)] {
        var lines: [(Int, String)] = []
        var number = 0
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            number += 1
            if let first = raw.first, first == " " || first == "\t", !lines.isEmpty {
                lines[lines.count - 1].1 += raw.dropFirst()
            } else if !raw.isEmpty {
                lines.append((number, String(raw)))
            }
        }
        return lines
    }

    /// `DTSTART;VALUE=DATE:20260101` → ("DTSTART", "20260101"): parameters are dropped.
    static func property(_ line: String) -> (name: String, value: String) {
        guard let colon = line.firstIndex(of: ":") else { return (line.uppercased(), "") }
        let head = line[..<colon]
        let name = head.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        return (name.uppercased(), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
    }

    /// The date of `YYYYMMDD` or of a date-time `YYYYMMDDTHHMMSS[Z]` (its calendar day as written).
    static func date(_ value: String) -> LocalDate? {
        let digits = value.prefix(8)
        guard digits.count == 8, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        let text = "\(digits.prefix(4))-\(digits.dropFirst(4).prefix(2))-\(digits.suffix(2))"
        return LocalDate(text)
    }

    /// DTEND is exclusive; a date-time end after midnight still covers the day it falls on.
    private static func endDate(_ value: String, _ date: LocalDate) -> LocalDate {
        let time = value.drop { $0 != "T" && $0 != "t" }.dropFirst().prefix(6)
        return time.isEmpty || time.allSatisfy({ $0 == "0" }) ? date : date.adding(days: 1)
    }
}
