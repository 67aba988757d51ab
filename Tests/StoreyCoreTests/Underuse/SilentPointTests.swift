import StoreyCore
import Testing

/// Silence is judged from when readings were last heard, and never across an outage of our own.
@Suite struct SilentPointTests {
    let rule = UnderuseRule(
        name: "silent", scope: ScopeSelector(.point), metric: .power, window: .minute, condition: .silentPoint(intervals: 3),
        applies: .always)
    let minute: Int64 = 60_000

    @Test func heardRecentlyIsClearAndSilentPastTheLimitHolds() {
        let watched: Int64 = 0
        #expect(rule.evaluateSilence(lastReading: 10 * minute, watchedSince: watched, expectedInterval: minute, now: 12 * minute).isClear)
        #expect(rule.evaluateSilence(lastReading: 10 * minute, watchedSince: watched, expectedInterval: minute, now: 14 * minute).holds)
    }

    @Test func afterARestartAPointNotYetHeardIsNoDataUntilWatchedLongEnough() {
        // Last heard long before the restart at minute 1,000.
        let restart: Int64 = 1_000 * minute
        let early = rule.evaluateSilence(lastReading: 5 * minute, watchedSince: restart, expectedInterval: minute, now: restart + 2 * minute)
        #expect(early == .noData(.notWatchedLongEnough))
        let later = rule.evaluateSilence(lastReading: 5 * minute, watchedSince: restart, expectedInterval: minute, now: restart + 4 * minute)
        #expect(later.holds)
        // Reported with the whole silence it knows of: from minute 5, not from the restart.
        if case .holds(let observed) = later { #expect(observed.value == 999) }
    }

    @Test func aFiringSilentAlertStaysFiringThroughARestartAndNothingRepeats() {
        let topology = TestTopology.make()
        let point = topology.points.firstIndex { $0.quantity == .power }!
        var evaluator = UnderuseEvaluator(rules: [rule], topology: topology, workingTimes: WorkingTimeTable(defaultHours: .always))
        let fired = evaluator.pointChecked(point: point, lastReading: 0, expectedInterval: minute, watchedSince: 0, now: 10 * minute)
        #expect(fired.contains { if case .notify(let n) = $0 { n.kind == .firing } else { false } })
        // Restarted at minute 100: the state is restored, and the first checks cannot tell yet.
        var restarted = UnderuseEvaluator(rules: [rule], topology: topology, workingTimes: WorkingTimeTable(defaultHours: .always))
        restarted.restore(Array(evaluator.alerts.values), now: 100 * minute)
        let soon = restarted.pointChecked(point: point, lastReading: 0, expectedInterval: minute, watchedSince: 100 * minute, now: 101 * minute)
        let later = restarted.pointChecked(point: point, lastReading: 0, expectedInterval: minute, watchedSince: 100 * minute, now: 105 * minute)
        #expect(soon.isEmpty && later.isEmpty)
        #expect(restarted.alerts.values.first?.state == .firing)
    }
}

extension ConditionResult {
    var holds: Bool { if case .holds = self { true } else { false } }
    var isClear: Bool { if case .clear = self { true } else { false } }
}
