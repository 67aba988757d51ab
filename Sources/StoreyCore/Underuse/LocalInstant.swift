import Foundation

/// An instant as the wall clock of a building shows it: the local date and the minute of that day.
public struct LocalInstant: Sendable, Hashable {
    public var date: LocalDate
    /// 0…1439.
    public var minuteOfDay: Int

    public init(date: LocalDate, minuteOfDay: Int) {
        self.date = date
        self.minuteOfDay = minuteOfDay
    }

    public var weekday: Weekday { date.weekday }

    /// The wall-clock time of `milliseconds` since the Unix epoch in `timeZone`.
    public init(milliseconds: Int64, in timeZone: TimeZone) {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let offset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
        let local = seconds + offset
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        self.init(date: LocalDate(daysSinceEpoch: Int(days)), minuteOfDay: Int((local - days * 86_400) / 60))
    }

    /// Milliseconds since the Unix epoch of this wall-clock time in `timeZone`. A time skipped by a
    /// daylight-saving change maps to the instant one offset away; a repeated time to its first occurrence.
    public func milliseconds(in timeZone: TimeZone) -> Int64 {
        let local = Int64(date.daysSinceEpoch) * 86_400 + Int64(minuteOfDay) * 60
        let guess = local - Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local))))
        let offset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(guess))))
        return (local - offset) * 1000
    }
}
