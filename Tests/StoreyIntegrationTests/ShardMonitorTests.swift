import Dispatch
import Foundation
import Logging
import StoreyConfig
import StoreyCore
import StoreyDaemon
import StoreyPostgres
import StoreyStore
import StoreyTestSupport
import Synchronization
import Testing

/// A shard's underuse monitor on PostgreSQL, as an estate instance runs it: fenced to the shard's holder,
/// judging its buildings only, over a real database with the clock in the test's hands.
@Suite struct ShardMonitorTests {
    static let buildings = ["n1", "n2"]

    static let rules = """
        alerting:
          evaluate_every: 1s
        rules:
          - name: silent
            scope: { kind: point }
            condition: { silent_intervals: 5 }
        """

    /// The host's wall clock, in the test's hands.
    final class Wall: Sendable {
        private let time: Mutex<Int64>
        init(_ time: Int64) { self.time = Mutex(time) }
        var now: Int64 { time.withLock { $0 } }
        func advance(_ milliseconds: Int64) -> Int64 { time.withLock { $0 += milliseconds; return $0 } }
    }

    final class Rig: Sendable {
        let database: PostgresStore
        let store: PostgresReadingStore
        let monitor: UnderuseMonitor
        let wall: Wall
        let topology: Topology

        /// A monitor for shard s1 (building n1 only) of instance a, which holds s1.
        init() async throws {
            database = try await TestPostgres.freshStore(prefix: "shard_monitor")
            let directory = try makeTemporaryDirectory(prefix: "storey-shard-monitor")
            let main = try StoreydProcess.writeConfiguration(
                in: directory, topology: estateTopology(buildings: ShardMonitorTests.buildings), mqttSection: ShardMonitorTests.rules)
            let configuration = try ConfigurationLoader.load(file: main)
            topology = configuration.topology
            let wall = Wall(Int64(Date().timeIntervalSince1970 / 60) * 60_000)
            self.wall = wall
            try await Self.setHolder("a", database: database)
            let fence = ShardFence(shard: "s1", instance: "a")
            store = try await PostgresReadingStore(
                database: database, topology: topology, intake: "s1", fence: fence, now: { wall.now })
            let alerts = PostgresAlertStore(database: database)
            let store = self.store
            monitor = try UnderuseMonitor(
                configuration: configuration, alerts: BlockingPostgresAlerts(alerts, fence: fence),
                saved: UnderuseMonitor.Saved(alerts: [], silences: [], progress: [:]), lastSeen: { store.lastSeenTimes },
                buildings: ["n1"], logger: Logger(label: "shard-monitor-test"), metrics: nil, now: { wall.now },
                caughtUp: { true }, connected: { true }, intakeIdle: { true }, monotonic: { wall.now })
        }

        func setHolder(_ instance: String) async throws { try await Self.setHolder(instance, database: database) }

        static func setHolder(_ instance: String, database: PostgresStore) async throws {
            _ = try await TestPostgres.shared().psql("""
                INSERT INTO shard_owner(shard, instance, since, seen_at) VALUES ('s1', '\(instance)', 0, 0)
                ON CONFLICT (shard) DO UPDATE SET instance = excluded.instance
                """, database: database.location.database)
        }

        /// `minutes` pass; `points` (by id) report once a minute meanwhile; then one tick, on a thread of
        /// its own as the daemon's monitor ticks (its store waits there for PostgreSQL).
        func pass(_ minutes: Int, reporting points: [String]) async throws {
            for _ in 0..<minutes {
                let time = wall.advance(60_000)
                let readings = points.map { id in Reading(point: topology.points.firstIndex { $0.id == id }!, time: time, value: 5) }
                if !readings.isEmpty { monitor.stored(try await store.ingest(readings)) }
            }
            let monitor = self.monitor
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                DispatchQueue.global().async {
                    do {
                        try monitor.tick()
                        done.resume()
                    } catch {
                        done.resume(throwing: error)
                    }
                }
            }
        }

        /// "point from>to", in the order recorded.
        func transitions() async throws -> [String] {
            try await TestPostgres.shared().psql(
                "SELECT scope_id || ' ' || from_state || '>' || to_state FROM alert_transition ORDER BY id", database: database.location.database
            ).split(separator: "\n").map(String.init)
        }
    }

    /// n1-kw falls silent while s1 has moved to b: a's monitor records nothing (its commit is refused, as
    /// its readings are), and judges the same again once it holds s1 again, so nothing is lost either. The
    /// other building's points, silent throughout, are another shard's: never judged here.
    @Test func aMonitorThatLostItsShardRecordsNothingAndJudgesAgainOnceItHoldsIt() async throws {
        let rig = try await Rig()
        try await rig.pass(1, reporting: ["n1-kw", "n1-kwh"])
        // The shard moves; n1-kw falls silent past its 5 s (1 s × 5 intervals) while it is b's.
        try await rig.setHolder("b")
        await #expect(throws: ShardFence.NotHolder.self) { try await rig.pass(1, reporting: ["n1-kwh"]) }
        await #expect(throws: ShardFence.NotHolder.self) { try await rig.pass(1, reporting: []) }
        #expect(try await rig.transitions().isEmpty)

        // a holds s1 again: the transitions refused before are judged again and recorded, once.
        try await rig.setHolder("a")
        try await rig.pass(0, reporting: [])
        let recorded = try await rig.transitions()
        #expect(recorded.contains { $0.hasPrefix("n1-kw ") && $0.hasSuffix(">firing") }, "\(recorded)")
        #expect(recorded.filter { $0.hasPrefix("n1-kw ") && $0.hasSuffix(">firing") }.count == 1, "\(recorded)")
        #expect(recorded.allSatisfy { $0.hasPrefix("n1-") }, "only its own buildings' points judged: \(recorded)")
        try await rig.pass(1, reporting: ["n1-kw", "n1-kwh"])
        #expect(try await rig.transitions().last == "n1-kw firing>resolved")
    }
}
