/// A tenant's weekly working hours: the shifts of each weekday, in the building's local time.
///
/// A night shift belongs to the day it starts on: Friday's 22:00–06:00 shift covers Saturday 00:00–06:00,
/// and it is worked only if Friday is a working day.
public struct WorkingHours: Sendable, Equatable {
    private var shiftsByWeekday: [[Shift]]

    public init(_ shifts: [Weekday: [Shift]]) {
        shiftsByWeekday = Weekday.allCases.map { shifts[$0] ?? [] }
    }

    /// The same shifts on each of `days` (Monday to Friday unless told otherwise).
    public init(shifts: [Shift], on days: [Weekday] = [.monday, .tuesday, .wednesday, .thursday, .friday]) {
        self.init(Dictionary(uniqueKeysWithValues: days.map { ($0, shifts) }))
    }

    /// Round the clock, every day: for rules that apply always, and for scopes with no schedule declared.
    public static let always = WorkingHours(shifts: [Shift(start: 0, end: 1440)], on: Weekday.allCases)

    public func shifts(on weekday: Weekday) -> [Shift] { shiftsByWeekday[weekday.rawValue] }
}
