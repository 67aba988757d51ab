/// A building's calendar of days that are not worked (public holidays) and of make-up working days
/// (调休: a Saturday or Sunday worked to bridge a holiday, with the schedule of a given weekday).
public struct HolidayCalendar: Sendable, Equatable {
    public private(set) var holidays: Set<LocalDate>
    /// Make-up working day → the weekday whose schedule is worked on it.
    public private(set) var makeUpDays: [LocalDate: Weekday]

    public init(holidays: Set<LocalDate> = [], makeUpDays: [LocalDate: Weekday] = [:]) {
        self.holidays = holidays
        self.makeUpDays = makeUpDays
    }

    public static let none = HolidayCalendar()

    public mutating func addHoliday(_ date: LocalDate) {
        holidays.insert(date)
        makeUpDays[date] = nil
    }

    public mutating func addMakeUpDay(_ date: LocalDate, workedAs weekday: Weekday) {
        makeUpDays[date] = weekday
        holidays.remove(date)
    }

    public func isHoliday(_ date: LocalDate) -> Bool { holidays.contains(date) }

    /// Neither a holiday nor a make-up day: a day whose activity is typical of its weekday.
    public func isOrdinary(_ date: LocalDate) -> Bool { !holidays.contains(date) && makeUpDays[date] == nil }

    /// The weekday whose shifts are worked on `date`: nil on a holiday, the stated weekday on a make-up day.
    public func workedWeekday(on date: LocalDate) -> Weekday? {
        if let weekday = makeUpDays[date] { return weekday }
        return holidays.contains(date) ? nil : date.weekday
    }

    /// Adds another calendar's days (e.g. a YAML list and an imported .ics); a date both lists is a make-up day.
    public mutating func merge(_ other: HolidayCalendar) {
        for date in other.holidays where makeUpDays[date] == nil { holidays.insert(date) }
        for (date, weekday) in other.makeUpDays { addMakeUpDay(date, workedAs: weekday) }
    }
}
