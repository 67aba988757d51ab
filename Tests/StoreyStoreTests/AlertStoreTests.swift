import Foundation
import StoreyCore
import StoreyStore
import Testing

/// Alert state, history, silences and outbox on SQLite: written together, read back with filters.
@Suite struct AlertStoreTests {
    let fixture = ReadingStoreTests()

    @Test func aTickIsCommittedWholeAndReadBackByBuildingTenantAndState() throws {
        let store = AlertStore(try ReadingStore(path: fixture.temporaryDatabase(), topology: fixture.topology))
        let rule = UnderuseRule(
            name: "energy-low", scope: ScopeSelector(.tenant), metric: .energyIntensity, window: .hour, condition: .below(0.05),
            applies: .always)
        var evaluator = UnderuseEvaluator(rules: [rule], topology: fixture.topology, workingTimes: WorkingTimeTable(defaultHours: .always))
        let hour: Int64 = 3_600_000
        let observation = WindowObservation(
            scope: Scope(.tenant, 0), resolution: .hour, start: 0, end: hour,
            figures: WindowFigures(windowStart: 0, rows: [(.energy, FigureValues(amount: 1, sampleSum: 0, sampleCount: 0, sampleMax: -.infinity, levelSum: 0, levelMinutes: 0, levelPeak: -.infinity, readings: 60))], leasedArea: 500))
        let actions = evaluator.windowChanged(observation)
        let silence = Silence(id: "s1", matchers: [LabelMatcher("tenant", "alpha")], start: 0, end: 10 * hour, creator: "ops")
        let notified = try store.commit(
            alerts: Array(evaluator.alerts.values), actions: actions,
            places: { _ in AlertPlace(building: "tower", tenant: "alpha") }, progress: ["tower/hour": hour / 1000],
            silencesSaved: [silence], now: hour)
        #expect(notified == 1)

        let firing = try store.alerts(state: .firing, building: "tower", tenant: "alpha")
        #expect(firing.map(\.alert.rule) == ["energy-low"])
        #expect(firing.first?.alert.values?.value == 1.0 / 500)
        #expect(try store.alerts(tenant: "nobody").isEmpty)
        #expect(try store.transitions(TransitionFilter(building: "tower", rule: "energy-low")).map(\.to) == ["firing"])
        #expect(try store.transitions(TransitionFilter(from: 2 * hour)).isEmpty)
        let outbox = try store.outbox()
        #expect(outbox.map(\.notification.kind) == [.firing])
        #expect(outbox.first?.notification.labels["tenant"] == "alpha")
        #expect(try store.loadSilences() == [silence])
        #expect(try store.progress() == ["tower/hour": hour / 1000])
        // What a restart restores is the same state machine.
        #expect(try store.loadAlerts() == Array(evaluator.alerts.values))
    }
}
