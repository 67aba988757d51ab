import Logging
import PostgresNIO
import StoreyPostgres
import StoreyTestSupport
import Testing

/// The estate's event stream reads alert transitions back by id: one committed after a higher id was
/// read must still be shown, once; an id that never commits must not hold the stream up for ever.
@Suite struct TransitionFeedTests {
    @Test func anIDCommittedLateIsShownOnceAndAGapIsGivenUpAfterItsPatience() {
        var feed = TransitionFeed(floor: 10, patience: 1000)
        #expect(feed.take([11, 13], now: 0) == [11, 13])
        #expect(feed.floor == 11, "12 may still commit")
        #expect(feed.take([13], now: 500) == [], "13 was shown")
        #expect(feed.take([12, 13, 14], now: 600) == [12, 14], "12 committed late")
        #expect(feed.floor == 14)
        // 15 and 16 never commit (rolled back): the floor waits for both at once, then moves past them.
        #expect(feed.take([17], now: 1000) == [17])
        #expect(feed.floor == 14 && feed.waitingFor == 2)
        #expect(feed.take([17], now: 1999) == [])
        #expect(feed.floor == 14)
        #expect(feed.take([17], now: 2000) == [])
        #expect(feed.floor == 17 && feed.waitingFor == 0)
        #expect(feed.take([], now: 3000) == [])
    }

    /// On a real PostgreSQL: an instance holds id n in an open transaction while another commits n + 1;
    /// the feed shows n + 1 at once and n when it commits.
    @Test func onPostgreSQLATransitionCommittedAfterAHigherOneIsNotMissed() async throws {
        let database = try await TestPostgres.freshStore(prefix: "feed")
        let alerts = PostgresAlertStore(database: database)
        let logger = Logger(label: "test.feed")
        var feed = TransitionFeed(floor: try await alerts.newestTransitionID())
        func insert(_ connection: PostgresConnection, _ scope: String) async throws {
            _ = try await connection.query("""
                INSERT INTO alert_transition(fingerprint, rule, scope_kind, scope_id, episode, from_state, to_state, time, reason, severity, flapping)
                VALUES ('f-\(unescaped: scope)', 'silent', 'point', \(scope), 1, 'inactive', 'firing', 0, 'holds', 'critical', false)
                """, logger: logger).collect()
        }
        func shown() async throws -> [String] {
            let records = try await alerts.transitions(above: feed.floor)
            let fresh = Set(feed.take(records.map(\.id), now: 0))
            return records.filter { fresh.contains($0.id) }.map(\.scopeID)
        }
        let slow = try await database.dedicatedConnection(name: "an instance committing late")
        let quick = try await database.dedicatedConnection(name: "an instance committing at once")
        _ = try await slow.query("BEGIN", logger: logger).collect()
        try await insert(slow, "late")
        try await insert(quick, "early")
        #expect(try await shown() == ["early"])
        _ = try await slow.query("COMMIT", logger: logger).collect()
        #expect(try await shown() == ["late"], "a reader asking only above the highest id seen would never show it")
        #expect(try await shown() == [])
        try await slow.close()
        try await quick.close()
    }
}
