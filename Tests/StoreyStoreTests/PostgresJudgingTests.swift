import Foundation
import StoreyCore
import StoreyPostgres
import StoreyTestSupport
import Testing

@testable import StoreyStore

/// Rules judged from figures on PostgreSQL (PostgresWindowJudging) say what they say from SQLite's
/// (StoredFigures): the same stream stored by both, the same windows judged, the same alert actions.
@Suite struct PostgresJudgingTests {
    let stream = BackendEquivalenceTests()

    @Test func theSameWindowsJudgedFromBothBackendsGiveTheSameActions() async throws {
        let topology = stream.topology
        let sqlite = try #require(try await ReadingStores.open(.sqlite, topology) as? SQLiteReadings)
        let postgres = try #require(try await ReadingStores.open(.postgresql, topology) as? PostgresReadings)
        for batch in stream.stream() {
            try await sqlite.ingest(batch)
            try await postgres.ingest(batch)
        }
        let tenants = ScopeSelector(.tenant)
        let rules = [
            // Hold for every tenant (so there is something to compare), one of them with a baseline, which
            // reads the same hour of past weeks: more reads, more rounds.
            UnderuseRule(name: "energy", scope: tenants, metric: .energyIntensity, window: .hour, condition: .below(1000), applies: .always),
            UnderuseRule(name: "occupancy", scope: tenants, metric: .meanOccupancy, window: .hour, condition: .belowPercentOfCapacity(500), applies: .always),
            UnderuseRule(name: "power", scope: ScopeSelector(.space), metric: .power, window: .hour, condition: .belowPercentOfBaseline(30), applies: .always),
            UnderuseRule(name: "minute", scope: ScopeSelector(.floor), metric: .power, window: .minute, condition: .below(10_000), applies: .always),
        ]
        let workingTimes = WorkingTimeTable(defaultHours: .always)
        func judge() -> WindowJudge {
            WindowJudge(topology: topology, workingTimes: workingTimes, coverage: WindowCoverage(), baseline: Baseline(weeks: 4, minimumWeeks: 1))
        }
        var sqliteJudge = judge(), postgresJudge = judge()
        var sqliteEvaluator = UnderuseEvaluator(rules: rules, topology: topology, workingTimes: workingTimes)
        var postgresEvaluator = sqliteEvaluator
        let source = StoredFigures(alerts: AlertStore(sqlite.store), topology: topology)
        let alerts = PostgresAlertStore(database: postgres.store.database)

        var windows: [BuildingWindow] = []
        for hour in 0..<3 { windows.append(BuildingWindow(building: 0, resolution: .hour, start: 1_782_867_600 + Int64(hour) * 3600)) }
        for minute in 30..<40 { windows.append(BuildingWindow(building: 0, resolution: .minute, start: 1_782_867_600 + Int64(minute) * 60)) }
        var actions = 0
        for window in windows {
            let now = (window.start + 7200) * 1000
            let left = try sqliteJudge.judge(window, evaluator: &sqliteEvaluator, source: source, now: now)
            let right = try await PostgresWindowJudging.judge(window, judge: &postgresJudge, evaluator: &postgresEvaluator, alerts: alerts, now: now)
            #expect(left == right, "window \(window)")
            actions += left.count
        }
        #expect(actions >= 8, "rules held and were recorded: \(actions) actions")
        #expect(postgresEvaluator.alerts.values.filter { $0.state == .firing }.count >= 4, "both tenants' energy and occupancy alerts fire")
        #expect(sqliteEvaluator.alerts == postgresEvaluator.alerts)
    }
}
