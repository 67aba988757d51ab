import Foundation
import StoreyCore
import StoreyStore
import Testing

/// Alert history past its retention goes, on each backend (SQLite, PostgreSQL), from alerts driven through their
/// own state machines at chosen times: open alerts keep their episode, whatever its age.
@Suite struct AlertHistoryPruningTests {
    static let day: Int64 = 86_400_000
    static let now: Int64 = 1000 * day
    static let cutoff: Int64 = now - 400 * day
    let fixture = ReadingStoreTests()

    /// One alert taken through `events` (condition holds or clears, at a day), each change committed at its time.
    func drive(
        _ store: TestedAlertStore, scopeID: String, holdFor: Int64 = 0, _ events: [(holds: Bool, day: Int64)]
    ) async throws -> Alert {
        var alert = Alert(
            rule: "energy-low", scope: Scope(.tenant, 0), scopeID: scopeID, severity: .warning, policy: AlertPolicy(holdFor: holdFor))
        let observation = Observation(value: 0, limit: 1, resolveLevel: 2, unit: "kWh/m²")
        for (holds, day) in events {
            let span = (day * Self.day - 3_600_000)..<(day * Self.day)
            let actions = alert.handle(.evaluated(holds ? .holds(observation) : .clear(observation), span: span))
            try await store.commit(alerts: [alert], actions: actions, places: { _ in AlertPlace(building: "tower") }, now: day * Self.day)
        }
        return alert
    }

    func history(_ store: TestedAlertStore, _ alert: Alert) async throws -> [String] {
        try await store.transitions(TransitionFilter(fingerprint: alert.fingerprint.value)).map { "\($0.episode):\($0.to)" }
    }

    @Test(arguments: ReadingBackend.allCases)
    func oldHistoryGoesAndOpenAlertsKeepTheirEpisode(_ backend: ReadingBackend) async throws {
        let store = try await AlertStores.open(backend, fixture.topology).alerts
        // Fired and resolved long ago → its history goes.
        let resolvedLongAgo = try await drive(store, scopeID: "a", [(true, 10), (false, 20)])
        // Fired long ago and still firing → all of it stays.
        let firingSinceLongAgo = try await drive(store, scopeID: "b", [(true, 10)])
        // Its first episode long ago, firing again now → the old episode goes, the open one stays.
        let firingAgain = try await drive(store, scopeID: "c", [(true, 10), (false, 20), (true, 900)])
        // Pending since long ago (its `for` not reached yet) → stays.
        let pendingSinceLongAgo = try await drive(store, scopeID: "d", holdFor: 10_000 * Self.day, [(true, 10)])
        // Fired and resolved within the retention → stays.
        let resolvedRecently = try await drive(store, scopeID: "e", [(true, 850), (false, 860)])
        #expect(try await history(store, firingAgain) == ["1:firing", "1:resolved", "2:firing"])
        #expect(pendingSinceLongAgo.state == .pending)

        let removed = try await store.pruneHistory(before: Self.cutoff, chunk: 1)

        #expect(removed == 4, "two transitions of each old, finished episode; in chunks of one row")
        #expect(try await history(store, resolvedLongAgo).isEmpty)
        #expect(try await history(store, firingSinceLongAgo) == ["1:firing"])
        #expect(try await history(store, firingAgain) == ["2:firing"])
        #expect(try await history(store, pendingSinceLongAgo) == ["0:pending"])
        #expect(try await history(store, resolvedRecently) == ["1:firing", "1:resolved"])
        // The alerts themselves stay: their snapshots carry the episode count that names each episode's mails.
        #expect(Set(try await store.loadAlerts().map(\.fingerprint.value)) == Set([resolvedLongAgo, firingSinceLongAgo, firingAgain, pendingSinceLongAgo, resolvedRecently].map(\.fingerprint.value)))
        #expect(try await store.loadAlerts().first { $0.fingerprint == resolvedLongAgo.fingerprint }?.episode == 1)
        #expect(try await store.pruneHistory(before: Self.cutoff) == 0, "nothing more to remove")
    }
}
