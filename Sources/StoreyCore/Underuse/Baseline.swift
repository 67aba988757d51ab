import Foundation

/// One hourly figure of a scope and quantity, as baselines learn from it.
public struct HourlyValue: Sendable, Equatable {
    /// Milliseconds since the Unix epoch of the hour's start.
    public var start: Int64
    public var value: Double

    public init(start: Int64, value: Double) {
        self.start = start
        self.value = value
    }
}

/// A baseline as rules see it: a level, or the explicit fact that there is not yet enough history for one
/// (so that a baseline-relative rule stays quiet, visibly, instead of comparing against zero).
public enum BaselineLevel: Sendable, Equatable {
    case level(Double, weeks: Int)
    case notEnoughHistory(weeks: Int, needed: Int)

    public var value: Double? {
        if case .level(let value, _) = self { return value }
        return nil
    }
}

/// A scope's usual level for the same hour of the week: the median of that hour over the last `weeks`
/// weeks, so that one odd week (a shutdown, a rush order) does not move it.
///
/// Holidays and make-up days are left out of what is learned: they are not typical of their weekday. A
/// make-up day itself is compared with the weekday it is worked as.
public struct Baseline: Sendable, Equatable {
    public var weeks: Int
    public var minimumWeeks: Int

    public init(weeks: Int = 4, minimumWeeks: Int = 2) {
        precondition(weeks >= 1 && (1...weeks).contains(minimumWeeks), "a baseline needs 1 ≤ minimumWeeks ≤ weeks")
        self.weeks = weeks
        self.minimumWeeks = minimumWeeks
    }

    /// The baseline for the hour starting at `hourStart` (milliseconds), learned from `history`: hourly
    /// values of the same scope and quantity (any order; values outside the weeks looked at are ignored).
    public func level(
        forHourStarting hourStart: Int64, history: [HourlyValue], timeZone: TimeZone, calendar: HolidayCalendar
    ) -> BaselineLevel {
        let target = LocalInstant(milliseconds: hourStart, in: timeZone)
        let weekday = calendar.makeUpDays[target.date] ?? target.weekday
        // The last `weeks` days before the target that are that weekday.
        var back = (target.weekday.rawValue - weekday.rawValue + 7) % 7
        if back == 0 { back = 7 }
        var days: [Int: Int] = [:]   // daysSinceEpoch → week number
        for week in 0..<weeks { days[target.date.daysSinceEpoch - back - 7 * week] = week }
        let hour = target.minuteOfDay / 60

        var values: [Double] = []
        var weeksSeen = Set<Int>()
        for sample in history {
            let local = LocalInstant(milliseconds: sample.start, in: timeZone)
            guard local.minuteOfDay / 60 == hour, let week = days[local.date.daysSinceEpoch],
                calendar.isOrdinary(local.date), sample.value.isFinite
            else { continue }
            values.append(sample.value)
            weeksSeen.insert(week)
        }
        guard weeksSeen.count >= minimumWeeks else { return .notEnoughHistory(weeks: weeksSeen.count, needed: minimumWeeks) }
        return .level(Self.median(values), weeks: weeksSeen.count)
    }

    /// The hours a baseline for the hour starting at `hourStart` learns from: the same local hour of the
    /// same weekday in each of the last `weeks` weeks, holidays and make-up days left out. A store fetches
    /// exactly these instead of weeks of rows.
    public func sampleHours(forHourStarting hourStart: Int64, timeZone: TimeZone, calendar: HolidayCalendar) -> [Int64] {
        let target = LocalInstant(milliseconds: hourStart, in: timeZone)
        let weekday = calendar.makeUpDays[target.date] ?? target.weekday
        var back = (target.weekday.rawValue - weekday.rawValue + 7) % 7
        if back == 0 { back = 7 }
        let minute = target.minuteOfDay / 60 * 60
        return (0..<weeks).compactMap { week in
            let date = LocalDate(daysSinceEpoch: target.date.daysSinceEpoch - back - 7 * week)
            guard calendar.isOrdinary(date) else { return nil }
            return LocalInstant(date: date, minuteOfDay: minute).milliseconds(in: timeZone)
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
