import Foundation
import Testing
@testable import StoreyCore

@Suite struct WorkingTimeTests {
    let shanghai = TimeZone(identifier: "Asia/Shanghai")!

    func at(_ local: String) -> Int64 { TestTopology.millis(local) }

    @Test func dayShiftIsWorkingTimeOnlyWithinItsHours() {
        let time = WorkingTime(hours: WorkingHours(shifts: [Shift("08:30-17:30")!]), timeZone: shanghai)
        // 2026-07-01 is a Wednesday.
        #expect(time.isWorkingTime(at: at("2026-07-01T08:30:00")))
        #expect(time.isWorkingTime(at: at("2026-07-01T17:29:59")))
        #expect(!time.isWorkingTime(at: at("2026-07-01T17:30:00")))
        #expect(!time.isWorkingTime(at: at("2026-07-04T10:00:00")))   // Saturday
    }

    @Test func nightShiftCrossingMidnightIsWorkingTime() {
        let time = WorkingTime(hours: WorkingHours([.friday: [Shift("22:00-06:00")!]]), timeZone: shanghai)
        // Friday 3 July 23:00 and Saturday 4 July 05:59 belong to Friday's shift.
        #expect(time.isWorkingTime(at: at("2026-07-03T23:00:00")))
        #expect(time.isWorkingTime(at: at("2026-07-04T05:59:00")))
        #expect(!time.isWorkingTime(at: at("2026-07-04T06:00:00")))
        // Friday morning is the tail of Thursday's shift, and Thursday has none.
        #expect(!time.isWorkingTime(at: at("2026-07-03T05:00:00")))
    }

    @Test func holidayIsNotWorkingTimeButItsEvesNightShiftRunsOn() {
        var calendar = HolidayCalendar()
        calendar.addHoliday(LocalDate("2026-10-01")!)
        let hours = WorkingHours(shifts: [Shift("08:00-12:00")!, Shift("22:00-06:00")!])
        let time = WorkingTime(hours: hours, calendar: calendar, timeZone: shanghai)
        #expect(!time.isWorkingTime(at: at("2026-10-01T09:00:00")))
        #expect(time.isWorkingTime(at: at("2026-10-01T02:00:00")))    // Wednesday's night shift
        #expect(!time.isWorkingTime(at: at("2026-10-01T23:00:00")))   // no shift starts on the holiday
    }

    @Test func makeUpSaturdayWorksTheScheduleOfItsWeekday() {
        var calendar = HolidayCalendar()
        calendar.addMakeUpDay(LocalDate("2026-09-26")!, workedAs: .friday)   // a Saturday
        let hours = WorkingHours([.friday: [Shift("09:00-15:00")!], .monday: [Shift("09:00-18:00")!]])
        let time = WorkingTime(hours: hours, calendar: calendar, timeZone: shanghai)
        #expect(time.isWorkingTime(at: at("2026-09-26T14:00:00")))
        #expect(!time.isWorkingTime(at: at("2026-09-26T16:00:00")))
        #expect(!time.isWorkingTime(at: at("2026-09-19T14:00:00")))   // an ordinary Saturday
    }

    @Test func workingMinutesCountOverlappingShiftsOnce() {
        let hours = WorkingHours(shifts: [Shift("06:00-14:00")!, Shift("13:00-22:00")!, Shift("22:00-06:00")!])
        let time = WorkingTime(hours: hours, timeZone: shanghai)
        // Wednesday: the whole day is worked (Tuesday's night shift covers 00:00–06:00).
        #expect(time.workingMinutes(from: at("2026-07-01T00:00:00"), to: at("2026-07-02T00:00:00")) == 1440)
        // Saturday: only Friday's night shift, 00:00–06:00.
        #expect(time.workingMinutes(from: at("2026-07-04T00:00:00"), to: at("2026-07-05T00:00:00")) == 360)
        #expect(time.workingMinutes(from: at("2026-07-01T13:30:00"), to: at("2026-07-01T14:30:00")) == 60)
    }

    @Test func workingMinutesAgreeWithIsWorkingTimeMinuteByMinute() {
        var calendar = HolidayCalendar()
        calendar.addHoliday(LocalDate("2026-07-02")!)
        let hours = WorkingHours(shifts: [Shift("08:30-12:00")!, Shift("20:00-02:30")!])
        let time = WorkingTime(hours: hours, calendar: calendar, timeZone: shanghai)
        let start = at("2026-06-30T00:00:00")
        let end = at("2026-07-05T00:00:00")
        let counted = stride(from: start, to: end, by: 60_000).filter { time.isWorkingTime(at: $0) }.count
        #expect(time.workingMinutes(from: start, to: end) == counted)
    }

    @Test func workingTimeFollowsTheBuildingsTimeZoneAcrossDaylightSaving() {
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        let time = WorkingTime(hours: WorkingHours(shifts: [Shift("09:00-17:00")!]), timeZone: berlin)
        // 09:30 local in summer (UTC+2) and in winter (UTC+1).
        #expect(time.isWorkingTime(at: TestTopology.millis("2026-07-01T09:30:00", zone: "+02:00")))
        #expect(time.isWorkingTime(at: TestTopology.millis("2026-12-01T09:30:00", zone: "+01:00")))
        #expect(!time.isWorkingTime(at: TestTopology.millis("2026-12-01T08:30:00", zone: "+01:00")))
    }

    @Test func localDateArithmeticMatchesTheCalendar() {
        #expect(LocalDate("1970-01-01")!.daysSinceEpoch == 0)
        #expect(LocalDate(daysSinceEpoch: LocalDate("2024-02-29")!.daysSinceEpoch) == LocalDate("2024-02-29"))
        #expect(LocalDate("2026-12-31")!.adding(days: 1) == LocalDate("2027-01-01"))
        #expect(LocalDate("2026-07-01")!.weekday == .wednesday)
        #expect(LocalDate("1969-12-31")!.weekday == .wednesday)
    }

    @Test func shiftTextIsCheckedAndRead() {
        #expect(Shift("22:00-06:00")?.crossesMidnight == true)
        #expect(Shift("22:00-06:00")?.minutes == 480)
        #expect(Shift("08:00-24:00")?.minutes == 960)
        #expect(Shift("8-17") == nil)
        #expect(Shift("25:00-06:00") == nil)
    }
}
