import Foundation
import StoreyCore

/// A named set of time intervals in one time zone, during which a route is muted
/// (`mute_time_intervals`) or outside of which it is (`active_time_intervals`).
public struct TimeIntervalSet: Sendable, Equatable {
    public var name: String
    public var timeZone: TimeZone
    /// The set holds an instant if any of these does.
    public var intervals: [TimeIntervalRule]

    public init(name: String, timeZone: TimeZone, intervals: [TimeIntervalRule]) {
        self.name = name
        self.timeZone = timeZone
        self.intervals = intervals
    }

    /// Whether `milliseconds` since the Unix epoch fall within the set.
    public func contains(_ milliseconds: Int64) -> Bool {
        let local = LocalInstant(milliseconds: milliseconds, in: timeZone)
        return intervals.contains { $0.contains(local) }
    }
}

/// Weekdays, times of day and dates that must all hold (an empty list holds always).
public struct TimeIntervalRule: Sendable, Equatable {
    public var weekdays: Set<Weekday> = []
    /// Times of the local day; "22:00-07:00" holds from 22:00 to midnight and from midnight to 07:00.
    public var times: [Shift] = []
    /// Inclusive date ranges.
    public var dates: [ClosedRange<LocalDate>] = []

    public init(weekdays: Set<Weekday> = [], times: [Shift] = [], dates: [ClosedRange<LocalDate>] = []) {
        self.weekdays = weekdays
        self.times = times
        self.dates = dates
    }

    func contains(_ local: LocalInstant) -> Bool {
        if !weekdays.isEmpty && !weekdays.contains(local.weekday) { return false }
        if !dates.isEmpty && !dates.contains(where: { $0.contains(local.date) }) { return false }
        if !times.isEmpty {
            let minute = local.minuteOfDay
            return times.contains { shift in
                shift.crossesMidnight ? (minute >= shift.start || minute < shift.end) : (minute >= shift.start && minute < shift.end)
            }
        }
        return true
    }
}

extension RouteMatch {
    /// Whether the route sends at `milliseconds`: outside every mute interval, and inside one of its
    /// active intervals if it names any. An interval name the configuration lacks never mutes.
    public func isActive(at milliseconds: Int64, intervals: [String: TimeIntervalSet]) -> Bool {
        if muteTimeIntervals.contains(where: { intervals[$0]?.contains(milliseconds) == true }) { return false }
        if activeTimeIntervals.isEmpty { return true }
        return activeTimeIntervals.contains { intervals[$0]?.contains(milliseconds) ?? true }
    }
}
