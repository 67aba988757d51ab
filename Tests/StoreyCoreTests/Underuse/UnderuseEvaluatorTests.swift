import Foundation
import Testing
@testable import StoreyCore

@Suite struct UnderuseEvaluatorTests {
    let topology = TestTopology.make()
    let alpha = Scope(.tenant, 0)   // leases s1 (400 m²) from 2026-01-01 and s3 (1000 m²) from June to December
    let hour: Int64 = 3_600_000

    var officeHours: WorkingTimeTable {
        var calendar = HolidayCalendar()
        calendar.addHoliday(LocalDate("2026-10-01")!)
        return WorkingTimeTable(defaultHours: WorkingHours(shifts: [Shift("08:00-18:00")!]), calendars: [0: calendar])
    }

    /// An hourly energy rule: below 0.05 kWh/m² per working hour for 3 hours, resolving at 0.06.
    var idleTenant: UnderuseRule {
        UnderuseRule(
            name: "idle-tenant", scope: ScopeSelector(.tenant), metric: .energyIntensity, window: .hour,
            condition: .below(0.05), holdFor: 3 * hour, resolve: .above(0.06), severity: .warning)
    }

    /// The hour starting at `local` (Shanghai) for tenant alpha (1400 m² leased), with `energy` kWh.
    func hourOf(_ local: String, energy: Double, missing: Set<Quantity> = []) -> WindowObservation {
        let start = TestTopology.millis(local)
        var values = FigureValues()
        values.amount = energy
        let figures = WindowFigures(windowStart: start / 1000, rows: [(.energy, values)], leasedArea: 1400)
        return WindowObservation(scope: alpha, resolution: .hour, start: start, end: start + hour, figures: figures, missing: missing)
    }

    func transitions(_ actions: [AlertAction]) -> [AlertState] {
        actions.compactMap { if case .record(let transition) = $0 { transition.to } else { nil } }
    }

    func run(_ evaluator: inout UnderuseEvaluator, _ observations: [WindowObservation]) -> [AlertState] {
        observations.flatMap { transitions(evaluator.windowChanged($0)) }
    }

    @Test func idleWorkingHoursFireAfterTheirDuration() {
        var evaluator = UnderuseEvaluator(rules: [idleTenant], topology: topology, workingTimes: officeHours)
        // Wednesday 30 September: 14 kWh over 1400 m² is 0.01 kWh/m².
        let states = run(&evaluator, ["09", "10", "11"].map { hourOf("2026-09-30T\($0):00:00", energy: 14) })
        #expect(states == [.pending, .firing])
    }

    @Test func holidayProducesNoUnderuseAlert() {
        var evaluator = UnderuseEvaluator(rules: [idleTenant], topology: topology, workingTimes: officeHours)
        let hours = (8..<18).map { hourOf(String(format: "2026-10-01T%02d:00:00", $0), energy: 0) }
        #expect(run(&evaluator, hours).isEmpty)
        #expect(evaluator.alerts.isEmpty)
    }

    @Test func nightHoursOfAnOfficeTenantAreNotUnderuse() {
        var evaluator = UnderuseEvaluator(rules: [idleTenant], topology: topology, workingTimes: officeHours)
        let hours = (0..<6).map { hourOf(String(format: "2026-09-30T%02d:00:00", $0), energy: 0) }
        #expect(run(&evaluator, hours).isEmpty)
    }

    @Test func forCountsWorkingHoursOnlyAcrossTheNight() {
        var evaluator = UnderuseEvaluator(rules: [idleTenant], topology: topology, workingTimes: officeHours)
        let evening = ["16", "17", "18", "19", "23"].map { hourOf("2026-09-29T\($0):00:00", energy: 0) }
        #expect(run(&evaluator, evening) == [.pending])   // two working hours idle, then night
        #expect(run(&evaluator, [hourOf("2026-09-30T08:00:00", energy: 0)]) == [.firing])
    }

    @Test func resolveNeedsHysteresisMargin() {
        var evaluator = UnderuseEvaluator(rules: [idleTenant], topology: topology, workingTimes: officeHours)
        _ = run(&evaluator, ["09", "10", "11"].map { hourOf("2026-09-30T\($0):00:00", energy: 14) })
        // 0.055 kWh/m² is above the limit but below the resolve level: still firing.
        #expect(run(&evaluator, [hourOf("2026-09-30T12:00:00", energy: 77)]).isEmpty)
        #expect(run(&evaluator, [hourOf("2026-09-30T13:00:00", energy: 98)]) == [.resolved])   // 0.07
    }

    @Test func windowWithGapsIsNoDataNotUnderuse() {
        let result = idleTenant.evaluate(hourOf("2026-09-30T09:00:00", energy: 0, missing: [.energy]), workingMinutes: 60, alertActive: false)
        #expect(result == .noData(.gaps([.energy])))
    }

    @Test func silentSensorIsNotUnderuse() {
        // Floor 1's occupancy counter stops; the aggregator marks occupancy missing for its windows.
        let emptyFloor = UnderuseRule(
            name: "empty-floor", scope: ScopeSelector(.floor), metric: .meanOccupancy, window: .hour,
            condition: .below(1), holdFor: 0)
        let silentPoint = UnderuseRule(
            name: "silent-point", scope: ScopeSelector(.point), metric: .meanOccupancy, window: .minute,
            condition: .silentPoint(intervals: 3), holdFor: 0, applies: .always, severity: .critical)
        var evaluator = UnderuseEvaluator(rules: [emptyFloor, silentPoint], topology: topology, workingTimes: officeHours)
        let lastReading = TestTopology.millis("2026-09-30T08:58:00")
        var actions: [AlertAction] = []
        for hourOfDay in 9..<17 {
            let start = TestTopology.millis(String(format: "2026-09-30T%02d:00:00", hourOfDay))
            // With no samples the level would read as zero persons.
            var occupancy = FigureValues()
            occupancy.levelMinutes = 60
            let figures = WindowFigures(windowStart: start / 1000, rows: [(.occupancy, occupancy)], leasedArea: 1000)
            actions += evaluator.windowChanged(WindowObservation(
                scope: Scope(.floor, 0), resolution: .hour, start: start, end: start + hour, figures: figures, missing: [.occupancy]))
            actions += evaluator.pointChecked(
                point: 2, lastReading: lastReading, expectedInterval: 60_000, watchedSince: 0, now: start + hour)
        }
        let fired = actions.compactMap { if case .record(let t) = $0, t.to == .firing { t.rule + "/" + t.scopeID } else { nil } }
        #expect(fired == ["silent-point/s1-people"])
    }

    @Test func silentPointResolvesWhenItReportsAgain() {
        let silentPoint = UnderuseRule(
            name: "silent-point", scope: ScopeSelector(.point, .ids(["s1-people"])), metric: .meanOccupancy,
            window: .minute, condition: .silentPoint(intervals: 3), holdFor: 5 * 60_000, applies: .always)
        var evaluator = UnderuseEvaluator(rules: [silentPoint], topology: topology, workingTimes: officeHours)
        let minute: Int64 = 60_000
        // Silent since minute 0: holds from minute 3, so fires at minute 8 and not before.
        #expect(transitions(evaluator.pointChecked(point: 2, lastReading: 0, expectedInterval: minute, watchedSince: 0, now: 7 * minute)) == [.pending])
        #expect(transitions(evaluator.pointChecked(point: 2, lastReading: 0, expectedInterval: minute, watchedSince: 0, now: 8 * minute)) == [.firing])
        #expect(transitions(evaluator.pointChecked(point: 2, lastReading: 9 * minute, expectedInterval: minute, watchedSince: 0, now: 9 * minute)) == [.resolved])
        #expect(evaluator.pointChecked(point: 3, lastReading: 0, expectedInterval: minute, watchedSince: 0, now: 9 * minute).isEmpty)
    }

    @Test func capacityRelativeRuleComparesMeanOccupancyWithDesignCapacity() {
        let rule = UnderuseRule(
            name: "sparse", scope: ScopeSelector(.tenant), metric: .meanOccupancy, window: .day,
            condition: .belowPercentOfCapacity(15))
        var occupancy = FigureValues()
        occupancy.levelSum = 5 * 600
        occupancy.levelMinutes = 600
        let start = TestTopology.millis("2026-09-30T00:00:00")
        let figures = WindowFigures(windowStart: start / 1000, rows: [(.occupancy, occupancy)], leasedArea: 1400)
        var observation = WindowObservation(scope: alpha, resolution: .day, start: start, end: start + 24 * hour, figures: figures, designCapacity: 70)
        #expect(rule.evaluate(observation, workingMinutes: 600, alertActive: false)
            == .holds(Observation(value: 5.0 / 70 * 100, limit: 15, resolveLevel: 15, unit: "% of capacity")))
        observation.designCapacity = nil
        #expect(rule.evaluate(observation, workingMinutes: 600, alertActive: false) == .noData(.noDesignCapacity))
    }

    @Test func baselineRelativeRuleWaitsForEnoughHistory() {
        let rule = UnderuseRule(
            name: "below-baseline", scope: ScopeSelector(.tenant), metric: .energyIntensity, window: .hour,
            condition: .belowPercentOfBaseline(30))
        var observation = hourOf("2026-09-30T10:00:00", energy: 14)   // 0.01 kWh/m²
        observation.baselines[.energyIntensity] = .notEnoughHistory(weeks: 1, needed: 2)
        #expect(rule.evaluate(observation, workingMinutes: 60, alertActive: false) == .noData(.notEnoughHistory(weeks: 1, needed: 2)))
        observation.baselines[.energyIntensity] = .level(0.05, weeks: 4)
        guard case .holds(let observed) = rule.evaluate(observation, workingMinutes: 60, alertActive: false) else {
            Issue.record("20% of baseline should hold"); return
        }
        #expect(abs(observed.value - 20) < 1e-9)
    }

    @Test func monthlyOutputBelowTargetHolds() {
        let rule = UnderuseRule(
            name: "below-target", scope: ScopeSelector(.tenant), metric: .outputDensity, window: .month,
            condition: .belowTarget, applies: .always)
        var output = FigureValues()
        output.amount = 700_000
        let start = TestTopology.millis("2026-09-01T00:00:00")
        let figures = WindowFigures(windowStart: start / 1000, rows: [(.output, output)], leasedArea: 1400)
        var observation = WindowObservation(scope: alpha, resolution: .month, start: start, end: start + 30 * 24 * hour, figures: figures, monthlyTarget: 800)
        #expect(rule.evaluate(observation, workingMinutes: 0, alertActive: false)
            == .holds(Observation(value: 500, limit: 800, resolveLevel: 800, unit: "per m²")))
        observation.monthlyTarget = nil
        #expect(rule.evaluate(observation, workingMinutes: 0, alertActive: false) == .noData(.noTarget))
    }

    /// Routes match on where an alert lies, whatever its scope: a space's or a point's alert names its
    /// floor, its space and the tenant leasing the space when the alert started.
    @Test func alertLabelsNameTheirBuildingFloorSpaceAndTenant() {
        let rule = UnderuseRule(
            name: "quiet", scope: ScopeSelector(.space), metric: .power, window: .hour, condition: .below(1), severity: .critical,
            labels: ["team": "ops"])
        let evaluator = UnderuseEvaluator(rules: [rule], topology: topology, workingTimes: officeHours)
        let february = TestTopology.millis("2026-02-10T09:00:00")
        // s2 is beta's until the end of March, then vacant.
        #expect(evaluator.labels(of: .init(rule: 0, scope: Scope(.space, 1)), at: february) == [
            "building": "tower", "floor": "tower/1", "space": "s2", "tenant": "beta",
            "rule": "quiet", "alertname": "quiet", "severity": "critical", "team": "ops",
        ])
        #expect(evaluator.labels(of: .init(rule: 0, scope: Scope(.space, 1)), at: TestTopology.millis("2026-05-01T09:00:00"))["tenant"] == nil)
        // s3-kwh lies in s3 on the second floor, alpha's from June.
        let point = evaluator.labels(of: .init(rule: 0, scope: Scope(.point, 4)), at: TestTopology.millis("2026-07-01T09:00:00"))
        #expect(point["point"] == "s3-kwh" && point["space"] == "s3" && point["floor"] == "tower/2" && point["tenant"] == "alpha")
        // A floor's water meter: its floor, no space, no tenant.
        let water = evaluator.labels(of: .init(rule: 0, scope: Scope(.point, 5)), at: february)
        #expect(water["floor"] == "tower/1" && water["space"] == nil && water["tenant"] == nil)
        // A tenant's alert: the tenant and its building; a floor's: the floor.
        #expect(evaluator.labels(of: .init(rule: 0, scope: alpha), at: february)["tenant"] == "alpha")
        #expect(evaluator.labels(of: .init(rule: 0, scope: Scope(.floor, 1)), at: february)["floor"] == "tower/2")
    }

    @Test func darkSpaceHoldsForDaysOfOnlyBaseLoad() {
        let rule = UnderuseRule(
            name: "dark-space", scope: ScopeSelector(.tenant), metric: .power, window: .day,
            condition: .darkSpace(maximumOccupancy: 0.5, baseLoad: 3), holdFor: 3 * 24 * hour)
        var evaluator = UnderuseEvaluator(rules: [rule], topology: topology, workingTimes: officeHours)
        func day(_ date: String, people: Double, kW: Double) -> WindowObservation {
            let start = TestTopology.millis("\(date)T00:00:00")
            let occupancy = FigureValues(amount: 0, sampleSum: 0, sampleCount: 0, sampleMax: people, levelSum: people * 1440, levelMinutes: 1440, levelPeak: people, readings: 1440)
            let power = FigureValues(amount: 0, sampleSum: 0, sampleCount: 0, sampleMax: kW, levelSum: kW * 1440, levelMinutes: 1440, levelPeak: kW, readings: 1440)
            let figures = WindowFigures(windowStart: start / 1000, rows: [(.occupancy, occupancy), (.power, power)], leasedArea: 1400)
            return WindowObservation(scope: alpha, resolution: .day, start: start, end: start + 24 * hour, figures: figures)
        }
        // Mon–Wed dark, with a weekend that does not count; someone came in on Thursday.
        let states = run(&evaluator, [
            day("2026-09-28", people: 0, kW: 2.5), day("2026-09-29", people: 0, kW: 2.4), day("2026-09-30", people: 0, kW: 2.6),
        ])
        #expect(states == [.pending, .firing])
        #expect(run(&evaluator, [day("2026-10-02", people: 4, kW: 2.5)]) == [.resolved])
    }

    @Test func silenceAddedLaterHoldsNotificationsUntilItEnds() {
        var evaluator = UnderuseEvaluator(rules: [idleTenant], topology: topology, workingTimes: officeHours)
        let silence = Silence(
            id: "retool", matchers: [LabelMatcher("tenant", "alpha")], start: TestTopology.millis("2026-09-30T00:00:00"),
            end: TestTopology.millis("2026-09-30T15:00:00"), creator: "wang.li", comment: "retooling")
        _ = evaluator.addSilence(silence, now: TestTopology.millis("2026-09-30T00:00:00"))
        let actions = ["09", "10", "11"].flatMap { evaluator.windowChanged(hourOf("2026-09-30T\($0):00:00", energy: 0)) }
        #expect(transitions(actions) == [.pending, .firing])
        #expect(!actions.contains { if case .notify = $0 { true } else { false } })
        let ended = evaluator.tick(now: TestTopology.millis("2026-09-30T15:00:00"))
        #expect(ended.contains { if case .notify(let n) = $0 { n.kind == .firing } else { false } })
    }

    @Test func selectorPicksScopesByIdAndLabel() {
        var tower = topology
        tower.tenants[1].labels = ["industry_chain": "biomedicine"]
        let rebuilt = Topology(buildings: tower.buildings, floors: tower.floors, spaces: tower.spaces, tenants: tower.tenants, points: tower.points)
        #expect(ScopeSelector(.tenant, .labels(["industry_chain": "biomedicine"])).scopes(in: rebuilt) == [Scope(.tenant, 1)])
        #expect(ScopeSelector(.floor, .ids(["tower/2"])).scopes(in: rebuilt) == [Scope(.floor, 1)])
        #expect(ScopeSelector(.building).scopes(in: rebuilt) == [Scope(.building, 0)])
    }

    @Test func ruleProblemsSpeakToTheOperator() {
        var rule = idleTenant
        rule.condition = .belowPercentOfCapacity(15)
        #expect(rule.problems == ["rule 'idle-tenant': a capacity-relative condition compares mean_occupancy, not energy_intensity"])
        #expect(idleTenant.problems.isEmpty)
    }
}
