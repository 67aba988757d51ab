import Foundation
@testable import StoreyCore
import StoreyStore
import Testing

/// Alert state, history, silences and outbox on each backend (SQLite, PostgreSQL): written together, read
/// back with filters; and the figure rows rules are judged on.
@Suite struct AlertStoreTests {
    let fixture = ReadingStoreTests()

    @Test(arguments: ReadingBackend.allCases)
    func aTickIsCommittedWholeAndReadBackByBuildingTenantAndState(_ backend: ReadingBackend) async throws {
        let store = try await AlertStores.open(backend, fixture.topology).alerts
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
        let notified = try await store.commit(
            alerts: Array(evaluator.alerts.values), actions: actions,
            places: { _ in AlertPlace(building: "tower", tenant: "alpha") }, progress: ["tower/hour": hour / 1000],
            silencesSaved: [silence], now: hour)
        #expect(notified == 1)

        let firing = try await store.alerts(state: .firing, building: "tower", tenant: "alpha")
        #expect(firing.map(\.alert.rule) == ["energy-low"])
        #expect(firing.first?.alert.values?.value == 1.0 / 500)
        #expect(try await store.alerts(tenant: "nobody").isEmpty)
        #expect(try await store.transitions(TransitionFilter(building: "tower", rule: "energy-low")).map(\.to) == ["firing"])
        #expect(try await store.transitions(TransitionFilter(from: 2 * hour)).isEmpty)
        #expect(try await store.transitions(TransitionFilter(tenant: "beta")).isEmpty)
        let outbox = try await store.outbox()
        #expect(outbox.map(\.notification.kind) == [.firing])
        #expect(outbox.first?.notification.labels["tenant"] == "alpha")
        #expect(try await store.loadSilences() == [silence])
        #expect(try await store.progress() == ["tower/hour": hour / 1000])
        // What a restart restores is the same state machine.
        #expect(try await store.loadAlerts() == Array(evaluator.alerts.values))
    }

    @Test(arguments: ReadingBackend.allCases)
    func figureRowsAndPointReadingsAreWhatRulesAreJudgedOn(_ backend: ReadingBackend) async throws {
        let (store, readings) = try await AlertStores.open(backend, fixture.topology)
        try await readings.ingest([
            Reading(point: 0, time: fixture.at(0), value: 100), Reading(point: 0, time: fixture.at(30), value: 106),
            Reading(point: 1, time: fixture.at(0), value: 10), Reading(point: 1, time: fixture.at(0) + 20_000, value: 14),
            Reading(point: 1, time: fixture.at(61), value: 3),
        ])
        let hour = fixture.at(0) / 1000
        let rows = try await store.figureRows(
            of: [(.tenant, "alpha"), (.space, "nowhere"), (.space, "s1")], quantities: [.occupancy, .energy, .water], resolution: .hour, windowStart: hour, windowEnd: hour + 3600)
        #expect(rows.map { $0.map(\.0) } == [[.occupancy, .energy], [], [.occupancy, .energy]], "per scope, in the order asked, only rows present")
        #expect(rows[0].first { $0.0 == .energy }?.1.amount == 6)
        #expect(rows[0].first { $0.0 == .occupancy }?.1.readings == 2)
        #expect(try await store.pointReadings(of: [("people", .occupancy), ("kwh", .energy)], resolution: .hour, windowStart: hour, windowEnd: hour + 3600) == [2, 2])
        #expect(try await store.pointReadings(of: [("people", .occupancy), ("kwh", .energy), ("nowhere", .water)], resolution: .minute, windowStart: hour, windowEnd: hour + 60) == [2, 1, 0])
        // A day counts its hours' readings and no others: 09:00 and 10:00 here, and not the next morning's.
        try await readings.ingest([Reading(point: 1, time: fixture.at(24 * 60), value: 5), Reading(point: 0, time: fixture.at(24 * 60), value: 120)])
        let midnight = fixture.at(-9 * 60) / 1000
        #expect(try await store.pointReadings(of: [("people", .occupancy), ("kwh", .energy)], resolution: .day, windowStart: midnight, windowEnd: midnight + 86_400) == [3, 2])
        #expect(try await store.pointReadings(of: [("people", .occupancy), ("kwh", .energy)], resolution: .day, windowStart: midnight + 86_400, windowEnd: midnight + 2 * 86_400) == [1, 1])
        // A scope's day the same: the first day's hours are in its row by now, the second day's open hour is not
        // yet on SQLite (ReadingStore+Folding.swift), and both count.
        for (start, counts) in [(midnight, [3, 2]), (midnight + 86_400, [1, 1])] {
            let days = try await store.figureRows(
                of: [(.tenant, "alpha")], quantities: [.occupancy, .energy], resolution: .day, windowStart: start, windowEnd: start + 86_400)
            #expect(days[0].map(\.1.readings) == counts)
        }
        // A point's day, for a rule that watches points: its hours added up (it has no day rows on SQLite).
        let pointDay = try await store.figureRows(
            of: [(.point, "kwh")], quantities: [.energy], resolution: .day, windowStart: midnight, windowEnd: midnight + 86_400)
        #expect(pointDay[0].map(\.1.readings) == [2])
        #expect(pointDay[0].first?.1.amount == 6)
    }

    /// An outage ends and hundreds of alerts change in one tick: all of it is written (PostgreSQL writes each
    /// kind of row as one statement), history and outbox in the actions' order, places and values that are
    /// absent stored as absent, and an alert given twice saved as its later self.
    @Test(arguments: ReadingBackend.allCases)
    func hundredsOfChangesInOneTickAreWrittenWholeAndInOrder(_ backend: ReadingBackend) async throws {
        let store = try await AlertStores.open(backend, fixture.topology).alerts
        let hour: Int64 = 3_600_000
        let count = 240
        var alerts = (0..<count).map { i in
            Alert(rule: "space-idle", scope: Scope(.space, i), scopeID: "s\(i)", severity: .warning, policy: AlertPolicy(holdFor: 2 * hour))
        }
        func observation(_ i: Int) -> Observation {
            Observation(value: Double(i) / 1000, limit: 0.5, resolveLevel: 0.6, unit: "kWh/m²")
        }
        // First tick: every alert starts holding (pending).
        var firstActions: [AlertAction] = []
        for i in 0..<count { firstActions += alerts[i].handle(.evaluated(.holds(observation(i)), span: 0..<hour)) }
        let pending = alerts
        try await store.commit(alerts: alerts, actions: firstActions, places: { _ in AlertPlace(building: "tower") }, now: hour)
        // Second tick: the even ones hold on and fire; the odd ones lose their data and go back to inactive.
        var actions: [AlertAction] = []
        for i in 0..<count {
            actions += i.isMultiple(of: 2)
                ? alerts[i].handle(.evaluated(.holds(observation(i)), span: hour..<(2 * hour)))
                : alerts[i].handle(.evaluated(.noData(.noTarget), span: hour..<(2 * hour)))
        }
        // And one with no values at all (the type allows it; the state machine keeps the last observation).
        actions.append(.record(AlertTransition(
            fingerprint: alerts[1].fingerprint, rule: "space-idle", scope: Scope(.space, 1), scopeID: "s1", episode: 0, from: .inactive,
            to: .inactive, time: 2 * hour, values: nil, reason: .noData(.noTarget), severity: .warning, isFlapping: false)))
        let recorded = actions.compactMap { action -> AlertTransition? in
            if case .record(let transition) = action { transition } else { nil }
        }
        #expect(recorded.count == count + 1)
        let notified = try await store.commit(
            alerts: [pending[0]] + alerts, actions: actions,
            places: { Int($0.scopeID.dropFirst())!.isMultiple(of: 2) ? AlertPlace(building: "tower", tenant: "alpha") : AlertPlace() },
            progress: ["tower/hour": 2 * hour / 1000], now: 2 * hour)
        #expect(notified == count / 2)

        let history = try await store.transitions(TransitionFilter(from: 2 * hour, limit: 10 * count)).sorted { $0.id < $1.id }
        #expect(history.map(\.scopeID) == recorded.map(\.scopeID), "in the actions' order")
        #expect(history.map(\.to) == recorded.map(\.to.rawValue))
        #expect(history.map(\.value) == recorded.map(\.values?.value))
        #expect(history.map(\.unit) == recorded.map(\.values?.unit))
        #expect(history.map(\.detail) == recorded.map(\.reason.detail))
        #expect(history.map(\.tenant) == recorded.map { Int($0.scopeID.dropFirst())!.isMultiple(of: 2) ? "alpha" : nil })
        #expect(history.map(\.building) == recorded.map { Int($0.scopeID.dropFirst())!.isMultiple(of: 2) ? "tower" : nil })
        let outbox = try await store.outbox().sorted { $0.id < $1.id }
        #expect(outbox.map(\.notification.scopeID) == stride(from: 0, to: count, by: 2).map { "s\($0)" })
        #expect(try await store.loadAlerts().sorted { $0.fingerprint.value < $1.fingerprint.value } == alerts.sorted { $0.fingerprint.value < $1.fingerprint.value })
        #expect(try await store.alerts(state: .firing).count == count / 2)
        #expect(try await store.progress() == ["tower/hour": 2 * hour / 1000])
    }
}
