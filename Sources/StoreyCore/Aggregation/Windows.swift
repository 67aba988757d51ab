import Foundation

/// The four window sizes figures are kept in.
public enum Resolution: String, Sendable, CaseIterable, Codable {
    case minute, hour, day, month
}

/// The start instants (Unix seconds, UTC) of the minute, hour, day and month windows holding one instant,
/// aligned to a building's local time, plus the local date (for leases and calendars).
public struct WindowStarts: Sendable, Equatable {
    public var minute: Int64
    public var hour: Int64
    public var day: Int64
    public var month: Int64
    public var localDate: LocalDate

    public subscript(resolution: Resolution) -> Int64 {
        switch resolution {
        case .minute: minute
        case .hour: hour
        case .day: day
        case .month: month
        }
    }
}

/// Aligns instants to a building's local windows, daylight-saving changes included (a local day may last
/// 23 or 25 hours; an hour repeated at the fall-back change is two windows, each with its own UTC start).
///
/// Calendar arithmetic is slow next to intake, so the hour, day and month that held the last instant are
/// kept: readings mostly arrive in time order, and most of them then cost two comparisons.
public struct WindowAligner: Sendable {
    private let calendar: Calendar
    private var hour: Range<Int64> = 0..<0
    private var day: Range<Int64> = 0..<0
    private var month: Range<Int64> = 0..<0
    private var date = LocalDate(year: 1970, month: 1, day: 1)

    public init(timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// The windows holding `milliseconds` since the Unix epoch.
    public mutating func windows(at milliseconds: Int64) -> WindowStarts {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        if !hour.contains(seconds) { hour = interval(.hour, seconds) }
        if !day.contains(seconds) {
            day = interval(.day, seconds)
            let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(seconds)))
            date = LocalDate(year: parts.year!, month: parts.month!, day: parts.day!)
        }
        if !month.contains(seconds) { month = interval(.month, seconds) }
        // Every time zone in use today is offset from UTC by whole minutes.
        let minute = seconds >= 0 ? seconds - seconds % 60 : seconds - ((seconds % 60) + 60) % 60
        return WindowStarts(minute: minute, hour: hour.lowerBound, day: day.lowerBound, month: month.lowerBound, localDate: date)
    }

    /// The end (exclusive) of the window of `resolution` that starts at `start`.
    public func windowEnd(_ resolution: Resolution, start: Int64) -> Int64 {
        switch resolution {
        case .minute: return start + 60
        case .hour: return interval(.hour, start).upperBound
        case .day: return interval(.day, start).upperBound
        case .month: return interval(.month, start).upperBound
        }
    }

    private func interval(_ component: Calendar.Component, _ seconds: Int64) -> Range<Int64> {
        let date = Date(timeIntervalSince1970: Double(seconds))
        guard let interval = calendar.dateInterval(of: component, for: date) else {
            return seconds..<(seconds + 1)
        }
        return Int64(interval.start.timeIntervalSince1970.rounded())..<Int64(interval.end.timeIntervalSince1970.rounded())
    }
}

/// One window of one building: rules judge the scopes of a building window by window.
public struct BuildingWindow: Sendable, Hashable {
    public var building: Int
    public var resolution: Resolution
    /// Unix seconds, as figure rows are keyed.
    public var start: Int64

    public init(building: Int, resolution: Resolution, start: Int64) {
        self.building = building
        self.resolution = resolution
        self.start = start
    }
}
