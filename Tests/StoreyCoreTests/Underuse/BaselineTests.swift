import Foundation
import Testing
@testable import StoreyCore

@Suite struct BaselineTests {
    let shanghai = TimeZone(identifier: "Asia/Shanghai")!
    let target = TestTopology.millis("2026-07-29T10:00:00")   // a Wednesday

    /// The value at 10:00 on the Wednesday `weeksBack` weeks before the target.
    func value(_ weeksBack: Int, _ value: Double, hour: Int = 10) -> HourlyValue {
        HourlyValue(start: target - Int64(weeksBack) * 7 * 86_400_000 + Int64(hour - 10) * 3_600_000, value: value)
    }

    @Test func baselineIsTheMedianOfTheSameHourInRecentWeeks() {
        let history = [value(1, 40), value(2, 44), value(3, 42), value(4, 46), value(1, 5, hour: 11)]
        let level = Baseline().level(forHourStarting: target, history: history, timeZone: shanghai, calendar: .none)
        #expect(level == .level(43, weeks: 4))
    }

    @Test func baselineIgnoresOneOutlierWeek() {
        let history = [value(1, 40), value(2, 0), value(3, 42), value(4, 41)]   // week 2: a line stopped
        #expect(Baseline().level(forHourStarting: target, history: history, timeZone: shanghai, calendar: .none).value == 40.5)
    }

    @Test func weeksOlderThanTheWindowAreNotLearned() {
        let history = [value(1, 40), value(2, 42), value(5, 1000), value(6, 1000)]
        #expect(Baseline().level(forHourStarting: target, history: history, timeZone: shanghai, calendar: .none).value == 41)
    }

    @Test func notEnoughHistoryIsAStateNotANumber() {
        let level = Baseline().level(forHourStarting: target, history: [value(1, 40)], timeZone: shanghai, calendar: .none)
        #expect(level == .notEnoughHistory(weeks: 1, needed: 2))
        #expect(level.value == nil)
    }

    @Test func holidaysAreNotLearned() {
        var calendar = HolidayCalendar()
        calendar.addHoliday(LocalDate("2026-07-22")!)   // one week before the target
        let history = [value(1, 0), value(2, 40), value(3, 44)]
        let level = Baseline().level(forHourStarting: target, history: history, timeZone: shanghai, calendar: calendar)
        #expect(level == .level(42, weeks: 2))
    }

    @Test func makeUpSaturdayIsComparedWithTheWeekdayItIsWorkedAs() {
        var calendar = HolidayCalendar()
        let saturday = TestTopology.millis("2026-08-01T10:00:00")
        calendar.addMakeUpDay(LocalDate("2026-08-01")!, workedAs: .wednesday)
        // Ordinary Saturdays are near zero; Wednesdays are busy.
        let history = [
            HourlyValue(start: saturday - 7 * 86_400_000, value: 1), HourlyValue(start: saturday - 14 * 86_400_000, value: 1),
            value(0, 40), value(1, 42),
        ]
        let level = Baseline().level(forHourStarting: saturday, history: history, timeZone: shanghai, calendar: calendar)
        #expect(level == .level(41, weeks: 2))
    }
}
