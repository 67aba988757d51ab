import Foundation
import StoreyCore
import Testing

/// Four weeks of hourly power for two tenants, judged offline with the daemon's judge: a baseline rule
/// fires on real underuse, not on a holiday, and not on a sensor that fell silent.
@Suite struct RecordedEvaluationTests {
    static let zone = TimeZone(identifier: "Asia/Shanghai")!
    static let june1 = LocalDate(year: 2026, month: 6, day: 1)   // a Monday

    static let topology: Topology = {
        let points = [
            Point(id: "a-kw", quantity: .power, unit: "kW", place: .space(0), floorIndex: 0, buildingIndex: 0,
                  topic: "a", maximum: 1_000, expectedInterval: 3_600_000),
            Point(id: "b-kw", quantity: .power, unit: "kW", place: .space(1), floorIndex: 0, buildingIndex: 0,
                  topic: "b", maximum: 1_000, expectedInterval: 3_600_000),
        ]
        return Topology(
            buildings: [Building(id: "t", name: "t", timeZone: zone, landArea: 6_667)],
            floors: [Floor(id: "t/1", buildingIndex: 0, level: 1, grossArea: 3_000)],
            spaces: [Space(id: "sa", floorIndex: 0, area: 1_000, capacity: 50), Space(id: "sb", floorIndex: 0, area: 1_000, capacity: 50)],
            tenants: [
                Tenant(id: "alpha", name: "alpha", leases: [Lease(spaceIndex: 0, start: june1, end: nil)]),
                Tenant(id: "beta", name: "beta", leases: [Lease(spaceIndex: 1, start: june1, end: nil)]),
            ],
            points: points)
    }()

    static func at(day: Int, hour: Int) -> Int64 {
        LocalInstant(date: LocalDate(daysSinceEpoch: june1.daysSinceEpoch + day), minuteOfDay: hour * 60).milliseconds(in: zone)
    }

    static func local(_ milliseconds: Int64) -> String {
        let instant = LocalInstant(milliseconds: milliseconds, in: zone)
        return "\(instant.date) \(instant.minuteOfDay / 60):00"
    }

    @Test func baselineUnderuseFiresButHolidaysAndSilentSensorsDoNot() throws {
        var calendar = HolidayCalendar()
        calendar.addHoliday(LocalDate(year: 2026, month: 6, day: 22))   // Monday of week 4
        let hours = WorkingHours(shifts: [Shift(start: 8 * 60, end: 18 * 60)])
        let workingTimes = WorkingTimeTable(defaultHours: hours, calendars: [0: calendar])
        let rules = [
            UnderuseRule(
                name: "below-baseline", scope: ScopeSelector(.tenant), metric: .power, window: .hour,
                condition: .belowPercentOfBaseline(30), holdFor: 4 * 3_600_000),
            UnderuseRule(
                name: "silent", scope: ScopeSelector(.point), metric: .power, window: .minute,
                condition: .silentPoint(intervals: 3), applies: .always),
        ]
        // Alpha works 50 kW in working hours (5 kW otherwise) but idles on Wed 24 and Thu 25 June, and on
        // the holiday. Beta works normally until its meter falls silent on Wed 24 June at 08:00.
        var readings: [Reading] = []
        for day in 0..<28 {
            for hour in 0..<24 {
                let time = Self.at(day: day, hour: hour)
                let working = day % 7 < 5 && (8..<18).contains(hour)
                let idle = day == 21 || day == 23 || day == 24
                readings.append(Reading(point: 0, time: time, value: working && !idle ? 50 : 5))
                if time < Self.at(day: 23, hour: 8) { readings.append(Reading(point: 1, time: time, value: working ? 50 : 5)) }
            }
        }
        var evaluation = RecordedEvaluation(rules: rules, topology: Self.topology, workingTimes: workingTimes)
        let actions = try evaluation.run(readings)
        let transitions = actions.compactMap { action -> String? in
            guard case .record(let transition) = action else { return nil }
            return "\(transition.rule) \(transition.scopeID) \(transition.from.rawValue)>\(transition.to.rawValue) at \(Self.local(transition.time))"
        }
        #expect(transitions.filter { $0.hasPrefix("below-baseline") } == [
            "below-baseline alpha inactive>pending at 2026-06-24 9:00",
            "below-baseline alpha pending>firing at 2026-06-24 12:00",
            "below-baseline alpha firing>resolved at 2026-06-26 9:00",
        ])
        // Beta's silent meter is "no data" for the baseline rule, and an alert of its own: its last reading
        // was at 07:00, and at 11:00 it has been silent for more than 3 hourly intervals.
        #expect(transitions.filter { $0.hasPrefix("silent") } == ["silent b-kw inactive>firing at 2026-06-24 11:00"])
        let notified = actions.compactMap { action -> String? in
            guard case .notify(let notification) = action else { return nil }
            return "\(notification.kind.rawValue) \(notification.scopeID)"
        }
        #expect(notified == ["firing b-kw", "firing alpha", "resolved alpha"])
    }
}
