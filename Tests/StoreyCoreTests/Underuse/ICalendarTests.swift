import Testing
@testable import StoreyCore

@Suite struct ICalendarTests {
    @Test func multiDayEventWithExclusiveEndMakesEachDayAHoliday() throws {
        let text = """
            BEGIN:VCALENDAR\r
            VERSION:2.0\r
            BEGIN:VEVENT\r
            DTSTART;VALUE=DATE:20261001\r
            DTEND;VALUE=DATE:20261008\r
            SUMMARY:国庆节\r
            END:VEVENT\r
            BEGIN:VEVENT\r
            DTSTART;VALUE=DATE:20260101\r
            SUMMARY:New Year\r
            END:VEVENT\r
            END:VCALENDAR\r
            """
        let calendar = try HolidayCalendar(iCalendar: text)
        #expect(calendar.holidays.count == 8)
        #expect(calendar.isHoliday(LocalDate("2026-10-07")!))
        #expect(!calendar.isHoliday(LocalDate("2026-10-08")!))
        #expect(calendar.isHoliday(LocalDate("2026-01-01")!))
    }

    @Test func foldedLinesAreUnfolded() throws {
        let text = "BEGIN:VEVENT\nDTSTART;VALU\n E=DATE:2026\n\t0501\nSUMMARY:Labour\n  Day\nEND:VEVENT\n"
        let calendar = try HolidayCalendar(iCalendar: text)
        #expect(calendar.holidays == [LocalDate("2026-05-01")!])
    }

    @Test func makeUpWorkingDayIsReadFromTheSummary() throws {
        let text = """
            BEGIN:VEVENT
            DTSTART;VALUE=DATE:20260926
            SUMMARY:国庆节 补班
            END:VEVENT
            """
        let calendar = try HolidayCalendar(iCalendar: text, makeUpWeekday: .thursday)
        #expect(calendar.makeUpDays == [LocalDate("2026-09-26")!: .thursday])
        #expect(calendar.workedWeekday(on: LocalDate("2026-09-26")!) == .thursday)
        #expect(calendar.holidays.isEmpty)
    }

    @Test func eventWithoutStartNamesItsLine() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\n"
        #expect(throws: ICalendarError(line: 2, message: "event has no DTSTART; expected DTSTART;VALUE=DATE:YYYYMMDD")) {
            try HolidayCalendar(iCalendar: text)
        }
    }

    @Test func unreadableDateIsRefused() {
        #expect(throws: ICalendarError.self) {
            try HolidayCalendar(iCalendar: "BEGIN:VEVENT\nDTSTART;VALUE=DATE:2026-13-01\nEND:VEVENT")
        }
    }
}
