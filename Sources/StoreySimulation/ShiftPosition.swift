import StoreyCore

/// Where an instant falls in a tenant's working time: inside which shift, and how far into it.
public struct ShiftPosition: Sendable, Equatable {
    public var shift: Shift
    /// Minutes since the shift began, 0 ..< shift.minutes.
    public var minutesIn: Int

    /// The worked shift containing `milliseconds`, if any: today's, or the tail of yesterday's night shift.
    /// Holidays are not worked; a make-up day (调休) works the shifts of the weekday it stands for.
    public init?(at milliseconds: Int64, in workingTime: WorkingTime) {
        let local = LocalInstant(milliseconds: milliseconds, in: workingTime.timeZone)
        let minute = local.minuteOfDay
        if let weekday = workingTime.calendar.workedWeekday(on: local.date),
            let shift = workingTime.hours.shifts(on: weekday).first(where: { minute >= $0.start && ($0.crossesMidnight || minute < $0.end) })
        {
            self.shift = shift
            self.minutesIn = minute - shift.start
            return
        }
        if let weekday = workingTime.calendar.workedWeekday(on: local.date.adding(days: -1)),
            let shift = workingTime.hours.shifts(on: weekday).first(where: { $0.crossesMidnight && minute < $0.end })
        {
            self.shift = shift
            self.minutesIn = 1440 - shift.start + minute
            return
        }
        return nil
    }

    /// Shifts longer than six hours stop for a meal in their middle (45 minutes); shorter ones have none,
    /// as the gap between two short shifts is the break.
    public var isMealBreak: Bool {
        guard shift.minutes > 6 * 60 else { return false }
        let breakStart = shift.minutes / 2 - 30
        return minutesIn >= breakStart && minutesIn < breakStart + 45
    }

    /// People arrive over the first 20 minutes and leave over the last 15: the share present, 0…1.
    public var presence: Double {
        let untilEnd = shift.minutes - minutesIn
        if minutesIn < 20 { return 0.3 + 0.7 * Double(minutesIn) / 20 }
        if untilEnd <= 15 { return 0.4 + 0.6 * Double(untilEnd) / 15 }
        return 1
    }
}
