import Foundation

/// When a scope is at work: its weekly working hours, the building's holiday calendar, in the building's
/// time zone. Every answer is a pure function of the instant given, so replays are exact.
public struct WorkingTime: Sendable, Equatable {
    public var hours: WorkingHours
    public var calendar: HolidayCalendar
    public var timeZone: TimeZone

    public init(hours: WorkingHours, calendar: HolidayCalendar = .none, timeZone: TimeZone) {
        self.hours = hours
        self.calendar = calendar
        self.timeZone = timeZone
    }

    /// Whether `milliseconds` since the Unix epoch falls in a shift that is worked.
    public func isWorkingTime(at milliseconds: Int64) -> Bool {
        let local = LocalInstant(milliseconds: milliseconds, in: timeZone)
        let minute = local.minuteOfDay
        if let weekday = calendar.workedWeekday(on: local.date),
            hours.shifts(on: weekday).contains(where: { minute >= $0.start && ($0.crossesMidnight || minute < $0.end) })
        {
            return true
        }
        // The tail of yesterday's night shift, if yesterday was worked.
        if let weekday = calendar.workedWeekday(on: local.date.adding(days: -1)) {
            return hours.shifts(on: weekday).contains { $0.crossesMidnight && minute < $0.end }
        }
        return false
    }

    /// Whole working minutes in `[start, end)` (milliseconds). Cost follows the days spanned, not the minutes.
    public func workingMinutes(from start: Int64, to end: Int64) -> Int {
        guard end > start else { return 0 }
        var spans: [Range<Int64>] = []
        let first = LocalInstant(milliseconds: start, in: timeZone).date.adding(days: -1)
        let last = LocalInstant(milliseconds: end, in: timeZone).date
        var day = first
        while day <= last {
            if let weekday = calendar.workedWeekday(on: day) {
                for shift in hours.shifts(on: weekday) {
                    let from = LocalInstant(date: day, minuteOfDay: shift.start).milliseconds(in: timeZone)
                    let until = shift.end == 1440 || shift.crossesMidnight
                        ? LocalInstant(date: day.adding(days: 1), minuteOfDay: shift.end % 1440).milliseconds(in: timeZone)
                        : LocalInstant(date: day, minuteOfDay: shift.end).milliseconds(in: timeZone)
                    let clipped = max(from, start)..<max(min(until, end), max(from, start))
                    if !clipped.isEmpty { spans.append(clipped) }
                }
            }
            day = day.adding(days: 1)
        }
        // Shifts may overlap (or a night shift run into the next morning's): count each minute once.
        spans.sort { $0.lowerBound < $1.lowerBound }
        var total: Int64 = 0
        var covered: Int64 = .min
        for span in spans {
            let from = max(span.lowerBound, covered)
            if span.upperBound > from { total += span.upperBound - from }
            covered = max(covered, span.upperBound)
        }
        return Int(total / 60_000)
    }
}
