import Testing
@testable import StoreyCore

@Suite struct AlertTests {
    let hour: Int64 = 3_600_000
    let low = Observation(value: 0.01, limit: 0.05, resolveLevel: 0.06, unit: "kWh/m²/h")
    let high = Observation(value: 0.2, limit: 0.05, resolveLevel: 0.06, unit: "kWh/m²/h")

    func alert(holdFor hours: Int64 = 3, flapHours: Int64 = 2, repeatHours: Int64? = nil) -> Alert {
        Alert(
            rule: "idle-tenant", scope: Scope(.tenant, 0), scopeID: "alpha", severity: .warning,
            policy: AlertPolicy(holdFor: hours * hour, flapPeriod: flapHours * hour, repeatInterval: repeatHours.map { $0 * hour }))
    }

    func window(_ index: Int64) -> Range<Int64> { index * hour..<(index + 1) * hour }

    func transitions(_ actions: [AlertAction]) -> [AlertState] {
        actions.compactMap { if case .record(let transition) = $0 { transition.to } else { nil } }
    }

    func notifications(_ actions: [AlertAction]) -> [AlertNotification.Kind] {
        actions.compactMap { if case .notify(let notification) = $0 { notification.kind } else { nil } }
    }

    @Test func alertFiresOnlyAfterForDuration() {
        var alert = alert()
        #expect(transitions(alert.handle(.evaluated(.holds(low), span: window(0)))) == [.pending])
        #expect(alert.handle(.evaluated(.holds(low), span: window(1))).isEmpty)
        let actions = alert.handle(.evaluated(.holds(low), span: window(2)))
        #expect(transitions(actions) == [.firing])
        #expect(notifications(actions) == [.firing])
        #expect(alert.state == .firing)
    }

    @Test func pendingClearsWithoutEverNotifying() {
        var alert = alert()
        _ = alert.handle(.evaluated(.holds(low), span: window(0)))
        let actions = alert.handle(.evaluated(.clear(high), span: window(1)))
        #expect(transitions(actions) == [.inactive])
        #expect(notifications(actions).isEmpty)
    }

    @Test func windowSeenTwiceDoesNotCountTwiceTowardsFor() {
        var alert = alert(holdFor: 2)
        _ = alert.handle(.evaluated(.holds(low), span: window(0)))
        #expect(alert.handle(.evaluated(.holds(low), span: window(0))).isEmpty)
        #expect(alert.state == .pending)
    }

    @Test func noDataRestartsPendingAndNeverFires() {
        var alert = alert(holdFor: 2)
        _ = alert.handle(.evaluated(.holds(low), span: window(0)))
        #expect(transitions(alert.handle(.evaluated(.noData(.gaps([.energy])), span: window(1)))) == [.inactive])
        #expect(transitions(alert.handle(.evaluated(.holds(low), span: window(2)))) == [.pending])
    }

    @Test func noDataDoesNotResolveAFiringAlert() {
        var alert = alert(holdFor: 0)
        _ = alert.handle(.evaluated(.holds(low), span: window(0)))
        #expect(alert.handle(.evaluated(.noData(.gaps([.occupancy])), span: window(1))).isEmpty)
        #expect(alert.state == .firing)
    }

    @Test func transitionCarriesFromToTimeValuesAndReason() {
        var alert = alert(holdFor: 0)
        let actions = alert.handle(.evaluated(.holds(low), span: window(5)))
        guard case .record(let transition)? = actions.first else { Issue.record("no transition"); return }
        #expect(transition.from == .inactive && transition.to == .firing)
        #expect(transition.time == 6 * hour)
        #expect(transition.values == low)
        #expect(transition.reason == .heldForDuration)
        #expect(transition.fingerprint == AlertFingerprint(rule: "idle-tenant", scopeKind: .tenant, scopeID: "alpha"))
    }

    @Test func fingerprintIsStableAndDistinctPerRuleAndScope() {
        let one = AlertFingerprint(rule: "idle-tenant", scopeKind: .tenant, scopeID: "alpha")
        #expect(one == AlertFingerprint(rule: "idle-tenant", scopeKind: .tenant, scopeID: "alpha"))
        #expect(one != AlertFingerprint(rule: "idle-tenant", scopeKind: .tenant, scopeID: "beta"))
        #expect(one != AlertFingerprint(rule: "idle-tenant", scopeKind: .floor, scopeID: "alpha"))
        #expect(one.value.count == 16)
    }

    @Test func resolveNotifiesOnce() {
        var alert = alert(holdFor: 0)
        _ = alert.handle(.evaluated(.holds(low), span: window(0)))
        let actions = alert.handle(.evaluated(.clear(high), span: window(1)))
        #expect(transitions(actions) == [.resolved])
        #expect(notifications(actions) == [.resolved])
        #expect(alert.handle(.evaluated(.clear(high), span: window(2))).isEmpty)
    }

    @Test func firingAgainSoonAfterResolvingIsOneFlappingAlert() {
        var alert = alert(holdFor: 0, flapHours: 2)
        _ = alert.handle(.evaluated(.holds(low), span: window(0)))
        _ = alert.handle(.evaluated(.clear(high), span: window(1)))
        let refire = alert.handle(.evaluated(.holds(low), span: window(2)))
        #expect(transitions(refire) == [.firing])
        #expect(notifications(refire) == [.flapping])
        #expect(alert.isFlapping)
        #expect(alert.episode == 1)
        // Further flaps are recorded but not notified.
        let resolveAgain = alert.handle(.evaluated(.clear(high), span: window(3)))
        #expect(transitions(resolveAgain) == [.resolved])
        #expect(notifications(resolveAgain).isEmpty)
        #expect(notifications(alert.handle(.evaluated(.holds(low), span: window(4)))).isEmpty)
        // Once it stays resolved for the flapping period, the held-back resolve is sent.
        _ = alert.handle(.evaluated(.clear(high), span: window(5)))
        #expect(notifications(alert.handle(.tick(at: 9 * hour))) == [.resolved])
        #expect(!alert.isFlapping)
    }

    @Test func firingLongAfterResolvingIsANewAlert() {
        var alert = alert(holdFor: 0, flapHours: 1)
        _ = alert.handle(.evaluated(.holds(low), span: window(0)))
        _ = alert.handle(.evaluated(.clear(high), span: window(1)))
        let actions = alert.handle(.evaluated(.holds(low), span: window(10)))
        #expect(notifications(actions) == [.firing])
        #expect(alert.episode == 2)
        #expect(!alert.isFlapping)
    }

    @Test func silenceSuppressesNotificationButNotState() {
        var alert = alert(holdFor: 0)
        _ = alert.handle(.silenceStarted(at: 0))
        let actions = alert.handle(.evaluated(.holds(low), span: window(0)))
        #expect(transitions(actions) == [.firing])
        #expect(notifications(actions).isEmpty)
    }

    @Test func silenceEndingWhileFiringNotifiesAtOnce() {
        var alert = alert(holdFor: 0)
        _ = alert.handle(.silenceStarted(at: 0))
        _ = alert.handle(.evaluated(.holds(low), span: window(0)))
        let actions = alert.handle(.silenceEnded(at: 90 * 60_000))
        #expect(notifications(actions) == [.firing])
        guard case .notify(let notification)? = actions.first else { return }
        #expect(notification.time == 90 * 60_000)
    }

    @Test func acknowledgementIsRecordedAndStopsReminders() {
        var alert = alert(holdFor: 0, repeatHours: 2)
        _ = alert.handle(.evaluated(.holds(low), span: window(0)))
        #expect(notifications(alert.handle(.tick(at: 3 * hour))) == [.reminder])
        let acknowledgement = Acknowledgement(by: "wang.li", at: 3 * hour + 1, comment: "line retooling this week")
        let acknowledged = alert.handle(.acknowledged(acknowledgement))
        guard case .record(let transition)? = acknowledged.first else { Issue.record("ack not recorded"); return }
        #expect(transition.reason == .acknowledged(acknowledgement))
        #expect(alert.handle(.tick(at: 8 * hour)).isEmpty)
        #expect(alert.acknowledgement == acknowledgement)
    }
}
