import Foundation
import Testing
@testable import StoreyCore

@Suite struct CounterIncreaseTests {
    @Test func ordinaryIncrease() {
        let result = counterIncrease(from: (0, 100), to: (900_000, 105), rollover: nil, maximumPerHour: 100)
        #expect(result.amount == 5)
        #expect(result.event == .increase)
    }

    @Test func rolloverCountsTheWrappedAmount() {
        let result = counterIncrease(from: (0, 99_998), to: (60_000, 3), rollover: 99_999, maximumPerHour: 1000)
        #expect(result.amount == 4)
        #expect(result.event == .rollover)
    }

    @Test func resetCountsFromZeroNeverNegative() {
        let result = counterIncrease(from: (0, 5_000), to: (60_000, 2), rollover: nil, maximumPerHour: 1000)
        #expect(result.amount == 2)
        #expect(result.event == .reset)
    }

    @Test func unbelievableJumpCountsNothing() {
        let result = counterIncrease(from: (0, 10), to: (60_000, 900_000), rollover: nil, maximumPerHour: 1000)
        #expect(result.amount == 0)
        #expect(result.event == .jump)
    }
}

@Suite struct WindowTests {
    @Test func windowsFollowTheBuildingsLocalDay() {
        var aligner = WindowAligner(timeZone: TimeZone(identifier: "Asia/Shanghai")!)
        // 2026-07-01 00:30 in Shanghai is 2026-06-30 16:30 UTC: the local day is 1 July.
        let windows = aligner.windows(at: TestTopology.millis("2026-07-01T00:30:10"))
        #expect(windows.localDate == LocalDate("2026-07-01"))
        #expect(windows.day == TestTopology.millis("2026-07-01T00:00:00") / 1000)
        #expect(windows.month == TestTopology.millis("2026-07-01T00:00:00") / 1000)
        #expect(windows.hour == TestTopology.millis("2026-07-01T00:00:00") / 1000)
        #expect(windows.minute == TestTopology.millis("2026-07-01T00:30:00") / 1000)
    }

    @Test func daylightSavingDayLasts23HoursAndTheRepeatedHourIsTwoWindows() {
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        var aligner = WindowAligner(timeZone: berlin)
        // Spring forward: 2026-03-29 in Berlin has 23 hours.
        let spring = aligner.windows(at: TestTopology.millis("2026-03-29T12:00:00", zone: "+02:00"))
        #expect(aligner.windowEnd(.day, start: spring.day) - spring.day == 23 * 3600)
        // Fall back: 2026-10-25 02:30 happens twice (CEST, then CET): two distinct hour windows.
        let first = aligner.windows(at: TestTopology.millis("2026-10-25T02:30:00", zone: "+02:00"))
        let second = aligner.windows(at: TestTopology.millis("2026-10-25T02:30:00", zone: "+01:00"))
        #expect(first.hour != second.hour)
        #expect(second.hour - first.hour == 3600)
        #expect(first.day == second.day)
        #expect(aligner.windowEnd(.day, start: first.day) - first.day == 25 * 3600)
    }

    @Test func halfHourZoneAlignsHoursToLocalTime() {
        var aligner = WindowAligner(timeZone: TimeZone(identifier: "Asia/Kolkata")!)
        let windows = aligner.windows(at: TestTopology.millis("2026-07-01T10:45:00", zone: "+05:30"))
        #expect(windows.hour == TestTopology.millis("2026-07-01T10:00:00", zone: "+05:30") / 1000)
    }
}

@Suite struct LeasedAreaTests {
    let topology = TestTopology.make()

    @Test func leasedAreaFollowsLeasesInEffect() {
        #expect(topology.leasedArea(ofTenant: 0, on: LocalDate("2026-05-31")!) == 400)
        #expect(topology.leasedArea(ofTenant: 0, on: LocalDate("2026-06-01")!) == 1400)
        #expect(topology.leasedArea(ofTenant: 0, on: LocalDate("2027-01-01")!) == 400)
        #expect(topology.leasedArea(ofTenant: 1, on: LocalDate("2026-03-31")!) == 600)
        #expect(topology.leasedArea(ofTenant: 1, on: LocalDate("2026-04-01")!) == 0)
    }

    @Test func buildingDensityDividesByLeasedSpaceOnly() {
        // In July, s1 and s3 are leased (alpha), s2 is vacant.
        #expect(topology.densityArea(of: Scope(.building, 0), on: LocalDate("2026-07-01")!) == 1400)
        #expect(topology.densityArea(of: Scope(.floor, 0), on: LocalDate("2026-07-01")!) == 400)
    }
}

@Suite struct AggregatorTests {
    let topology = TestTopology.make()

    func figure(_ history: MemoryHistory, _ kind: ScopeKind, _ index: Int, _ quantity: Quantity, _ resolution: Resolution, _ local: String) -> FigureValues? {
        var aligner = WindowAligner(timeZone: topology.buildings[0].timeZone)
        let start = aligner.windows(at: TestTopology.millis(local))[resolution]
        return history.figures[FigureKey(scope: Scope(kind, index), quantity: quantity, resolution: resolution, windowStart: start)]
    }

    @Test func energyIsCreditedToEveryScopeAndWindow() {
        var aggregator = Aggregator(topology: topology)
        let history = MemoryHistory()
        history.ingest([
            Reading(point: 1, time: TestTopology.millis("2026-07-01T09:00:00"), value: 1000),
            Reading(point: 1, time: TestTopology.millis("2026-07-01T09:15:00"), value: 1012),
            Reading(point: 1, time: TestTopology.millis("2026-07-01T10:05:00"), value: 1030),
        ], into: &aggregator)
        #expect(figure(history, .point, 1, .energy, .hour, "2026-07-01T09:00:00")?.amount == 12)
        #expect(figure(history, .tenant, 0, .energy, .hour, "2026-07-01T10:00:00")?.amount == 18)
        #expect(figure(history, .floor, 0, .energy, .day, "2026-07-01T00:00:00")?.amount == 30)
        #expect(figure(history, .building, 0, .energy, .month, "2026-07-01T00:00:00")?.amount == 30)
        #expect(figure(history, .space, 0, .energy, .minute, "2026-07-01T09:15:00")?.amount == 12)
    }

    @Test func duplicatesAndOutOfOrderReadingsGiveTheSameFigures() {
        let ordered = [
            Reading(point: 1, time: TestTopology.millis("2026-07-01T09:00:00"), value: 1000),
            Reading(point: 1, time: TestTopology.millis("2026-07-01T09:30:00"), value: 1010),
            Reading(point: 1, time: TestTopology.millis("2026-07-01T10:10:00"), value: 1025),
            Reading(point: 1, time: TestTopology.millis("2026-07-01T11:10:00"), value: 1040),
        ]
        var inOrder = Aggregator(topology: topology)
        let expected = MemoryHistory()
        expected.ingest(ordered, into: &inOrder)

        var shuffled = Aggregator(topology: topology)
        let actual = MemoryHistory()
        actual.ingest([ordered[3], ordered[0]], into: &shuffled)
        actual.ingest([ordered[2], ordered[0], ordered[1], ordered[3]], into: &shuffled)
        #expect(actual.figures == expected.figures)
    }

    @Test func aRestartedAggregatorContinuesFromStorage() {
        let readings = (0..<10).map { Reading(point: 1, time: TestTopology.millis("2026-07-01T09:00:00") + Int64($0) * 60_000, value: 100 + Double($0)) }
        var whole = Aggregator(topology: topology)
        let expected = MemoryHistory()
        expected.ingest(readings, into: &whole)

        let actual = MemoryHistory()
        var first = Aggregator(topology: topology)
        actual.ingest(Array(readings[0..<4]), into: &first)
        var restarted = Aggregator(topology: topology)  // caches empty, as after a restart
        actual.ingest(Array(readings[4...]), into: &restarted)
        #expect(actual.figures == expected.figures)
        #expect(figure(actual, .tenant, 0, .energy, .hour, "2026-07-01T09:00:00")?.amount == 9)
    }

    @Test func gaugeFiguresSurviveARestartFollowedByAnOldReading() {
        let t = TestTopology.millis("2026-07-01T09:00:00")
        let readings = [
            Reading(point: 0, time: t, value: 10), Reading(point: 0, time: t + 120_000, value: 30),
            Reading(point: 3, time: t + 120_000, value: 5),
            // After the restart: a late reading for the first minute, then more for the newest one.
            Reading(point: 0, time: t + 20_000, value: 20), Reading(point: 0, time: t + 130_000, value: 50),
            Reading(point: 3, time: t + 150_000, value: 7),
        ]
        var whole = Aggregator(topology: topology)
        let expected = MemoryHistory()
        expected.ingest(readings, into: &whole)

        let actual = MemoryHistory()
        var first = Aggregator(topology: topology)
        actual.ingest(Array(readings[..<3]), into: &first)
        var restarted = Aggregator(topology: topology)
        actual.ingest(Array(readings[3...]), into: &restarted)
        #expect(actual.figures == expected.figures)
        // Floor level in the third minute: s1-kw mean 40 + s2-kw mean 6.
        #expect(figure(actual, .floor, 0, .power, .minute, "2026-07-01T09:02:00")?.meanLevel == 46)
    }

    @Test func gaugeLevelsSumPointMeansAndAverageOverMinutes() {
        var aggregator = Aggregator(topology: topology)
        let history = MemoryHistory()
        let t = TestTopology.millis("2026-07-01T09:00:00")
        history.ingest([
            // s1-kw: 10 then 20 in minute one (mean 15), 30 in minute two.
            Reading(point: 0, time: t, value: 10), Reading(point: 0, time: t + 30_000, value: 20),
            Reading(point: 0, time: t + 60_000, value: 30),
            // s2-kw: 5 in minute one.
            Reading(point: 3, time: t + 10_000, value: 5),
        ], into: &aggregator)
        let floorMinute = figure(history, .floor, 0, .power, .minute, "2026-07-01T09:00:00")!
        #expect(floorMinute.meanLevel == 20)  // 15 + 5
        let floorHour = figure(history, .floor, 0, .power, .hour, "2026-07-01T09:00:00")!
        #expect(floorHour.levelMinutes == 2)
        #expect(floorHour.meanLevel == 25)  // (20 + 30) / 2
        #expect(floorHour.peakLevel == 30)
        let pointHour = figure(history, .point, 0, .power, .hour, "2026-07-01T09:00:00")!
        #expect(pointHour.sampleMax == 30)
        #expect(pointHour.meanLevel == 22.5)
    }

    @Test func counterResetDoesNotMakeNegativeEnergy() {
        var aggregator = Aggregator(topology: topology)
        let history = MemoryHistory()
        let t = TestTopology.millis("2026-07-01T09:00:00")
        history.ingest([
            Reading(point: 4, time: t, value: 500), Reading(point: 4, time: t + 60_000, value: 510),
            Reading(point: 4, time: t + 120_000, value: 3),  // meter replaced
            Reading(point: 4, time: t + 180_000, value: 8),
        ], into: &aggregator)
        let hour = figure(history, .point, 4, .energy, .hour, "2026-07-01T09:00:00")!
        #expect(hour.amount == 10 + 3 + 5)
        #expect(aggregator.takeCounterEvents()[.reset] == 1)
    }

    @Test func tenantFiguresFollowTheLeaseOnTheReadingsDay() {
        var aggregator = Aggregator(topology: topology)
        let history = MemoryHistory()
        // s3 is alpha's only from June; in May its energy counts for the floor but no tenant.
        history.ingest([
            Reading(point: 4, time: TestTopology.millis("2026-05-31T09:00:00"), value: 0),
            Reading(point: 4, time: TestTopology.millis("2026-05-31T10:00:00"), value: 7),
            Reading(point: 4, time: TestTopology.millis("2026-06-01T10:00:00"), value: 10),
        ], into: &aggregator)
        #expect(figure(history, .tenant, 0, .energy, .day, "2026-05-31T00:00:00") == nil)
        #expect(figure(history, .floor, 1, .energy, .day, "2026-05-31T00:00:00")?.amount == 7)
        #expect(figure(history, .tenant, 0, .energy, .day, "2026-06-01T00:00:00")?.amount == 3)
    }

    @Test func densitiesDivideByLeasedAreaAndPerMu() {
        var energy = FigureValues()
        energy.amount = 140
        var people = FigureValues()
        people.levelSum = 70
        people.levelMinutes = 1
        let figures = WindowFigures(windowStart: 0, rows: [(.energy, energy), (.occupancy, people)], leasedArea: 1400, landAreaMu: 10)
        #expect(figures.energyIntensity == 0.1)
        #expect(figures.occupancyDensity == 5)
        #expect(figures.energyPerMu == 14)
        #expect(figures.readings[.energy] == 0)
        #expect(figures.readings[.power] == nil)
    }

    @Test func windowFiguresCountTheReadingsBehindThem() {
        var aggregator = Aggregator(topology: topology)
        let history = MemoryHistory()
        let t = TestTopology.millis("2026-07-01T09:00:00")
        history.ingest([
            Reading(point: 1, time: t, value: 100), Reading(point: 1, time: t + 600_000, value: 101),
            Reading(point: 0, time: t + 60_000, value: 12),
        ], into: &aggregator)
        let rows = [Quantity.energy, .power].compactMap { quantity in
            figure(history, .space, 0, quantity, .hour, "2026-07-01T09:00:00").map { (quantity, $0) }
        }
        let figures = WindowFigures(windowStart: 0, rows: rows, leasedArea: 400)
        #expect(figures.readings[.energy] == 2)
        #expect(figures.readings[.power] == 1)
        #expect(figures.readings[.occupancy] == nil)  // no people counter reported: no data, not zero people
    }
}
