import Foundation
import Logging
import StoreyPostgres
import StoreyTestSupport
import StoreyCore
import Synchronization
import Testing

/// Shards owned through PostgreSQL advisory locks, three instances on one real database: each shard has
/// one owner; when an owner dies, or its connection does, a standby holds its shards within seconds.
@Suite(.timeLimit(.minutes(2)))
struct ShardOwnershipTests {
    static let shards = ["s1", "s2", "s3", "s4"]

    final class Instance: Sendable {
        let ownership: ShardOwnership
        let changes = Mutex<[ShardOwnership.Change]>([])
        let task = Mutex<Task<Void, Never>?>(nil)
        init(_ ownership: ShardOwnership) { self.ownership = ownership }
        func start() {
            let ownership = self.ownership
            task.withLock { $0 = Task { await ownership.run { change in self.changes.withLock { $0.append(change) } } } }
        }
        func stop() async {
            let running = task.withLock { $0 }
            running?.cancel()
            await running?.value
        }
    }


    /// Every shard held by exactly one instance.
    func heldOnce(_ instances: [Instance]) -> Bool {
        let held = instances.flatMap { $0.ownership.owned }
        return held.count == Self.shards.count && Set(held) == Set(Self.shards)
    }

    @Test func ownersHoldTheirShardsAndAStandbyTakesOverWhenAnOwnerOrItsConnectionDies() async throws {
        let first = try await TestPostgres.freshStore(prefix: "shards")
        func open() async throws -> PostgresStore {
            try await PostgresStore(first.location, password: TestPostgres.password, logger: Logger(label: "test.shards"))
        }
        let a = Instance(ShardOwnership(database: first, instance: "a", preferred: ["s1", "s2"], retry: .milliseconds(200)))
        let b = Instance(ShardOwnership(database: try await open(), instance: "b", preferred: ["s3", "s4"], standbyFor: Self.shards, retry: .milliseconds(200)))
        let c = Instance(ShardOwnership(database: try await open(), instance: "c", preferred: [], standbyFor: Self.shards, retry: .milliseconds(200)))
        // The standby starts once the owners hold their shards: its grace (600 ms here) counts from its
        // own connection, and on a loaded machine an owner's first lock can come later than that.
        for instance in [a, b] { instance.start() }
        try await waitUntil("each owner holding its own shards") { a.ownership.owned == ["s1", "s2"] && b.ownership.owned == ["s3", "s4"] }
        c.start()
        // Past the standbys' grace: nothing moves while the owners live.
        try await Task.sleep(for: .seconds(1))
        #expect(a.ownership.owned == ["s1", "s2"] && b.ownership.owned == ["s3", "s4"] && c.ownership.owned.isEmpty)
        let owners = try await ShardOwnership.owners(first)
        #expect(owners.mapValues(\.instance) == ["s1": "a", "s2": "a", "s3": "b", "s4": "b"])

        // a dies: its connection closes, its locks with it. A standby holds s1 and s2 within seconds.
        let died = ContinuousClock.now
        await a.stop()
        try await waitUntil("a standby holding a's shards") { heldOnce([b, c]) }
        let takeover = ContinuousClock.now - died
        #expect(takeover < .seconds(3), "taken over in \(takeover)")
        #expect(b.ownership.owned.isSuperset(of: ["s3", "s4"]))
        try await waitUntil("the owner table showing the new holders") {
            let owners = try await ShardOwnership.owners(first).mapValues(\.instance)
            return Self.shards.allSatisfy { shard in owners[shard].map { [b, c][$0 == "b" ? 0 : 1].ownership.owned.contains(shard) } ?? false }
                && !owners.values.contains("a")
        }

        // b's connection is killed by the server: b says it lost its shards, and they are held again, once each.
        let before = b.ownership.owned
        let killed = try await TestPostgres.shared().psql(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'storey shards b' AND datname = current_database()", database: first.location.database)
        #expect(killed.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        try await waitUntil("b telling what it lost (it held \(before), it told \(b.changes.withLock { $0 }))") {
            Set(b.changes.withLock { $0 }.compactMap { if case .lost(let shard) = $0 { shard } else { nil } }) == before
        }
        try await waitUntil("every shard held once again") { heldOnce([b, c]) }
        for instance in [b, c] { await instance.stop() }
        // a, stopped, gave up what it held and said so; nothing after.
        #expect(a.changes.withLock { $0 } == [.acquired("s1"), .acquired("s2"), .lost("s1"), .lost("s2")])
    }

    /// An owner restarted (a rolling restart) finds the standby holding its shards: it asks, and the
    /// standby hands them back, releasing each lock only once its handler of the change has returned (an
    /// estate instance stores what the shard's intake holds there).
    @Test func anOwnerBackFromARestartGetsItsShardsBackFromTheStandby() async throws {
        let database = try await TestPostgres.freshStore(prefix: "handback")
        func open() async throws -> PostgresStore {
            try await PostgresStore(database.location, password: TestPostgres.password, logger: Logger(label: "test.handback"))
        }
        let a = Instance(ShardOwnership(database: database, instance: "a", preferred: ["s1", "s2"], retry: .milliseconds(200)))
        a.start()
        try await waitUntil("a holding its shards") { a.ownership.owned == ["s1", "s2"] }
        // The standby's handler takes its time over a handed-back shard, as storing what an intake holds does.
        let handedBack = Mutex<[String: ContinuousClock.Instant]>([:])
        let standby = ShardOwnership(
            database: try await open(), instance: "c", preferred: [], standbyFor: ["s1", "s2"], retry: .milliseconds(200), standbyGrace: .zero)
        let changes = Mutex<[ShardOwnership.Change]>([])
        let c = Task {
            await standby.run { change in
                changes.withLock { $0.append(change) }
                if case .released(let shard) = change {
                    try? await Task.sleep(for: .milliseconds(500))
                    handedBack.withLock { $0[shard] = .now }
                }
            }
        }
        defer { c.cancel() }
        try await Task.sleep(for: .seconds(1))
        #expect(standby.owned.isEmpty, "the standby took an owner's shard while it lived")

        // a stops (its locks go with its connection): c takes its shards.
        await a.stop()
        try await waitUntil("c holding a's shards") { standby.owned == ["s1", "s2"] }
        // a is back: it asks, c hands each back once its handler is done, a holds them again.
        let back = Instance(ShardOwnership(database: try await open(), instance: "a", preferred: ["s1", "s2"], retry: .milliseconds(200)))
        back.start()
        let acquired = Mutex<[String: ContinuousClock.Instant]>([:])
        try await waitUntil("a holding its shards again", timeout: .seconds(15)) {
            for shard in back.ownership.owned where acquired.withLock({ $0[shard] }) == nil { acquired.withLock { $0[shard] = .now } }
            return back.ownership.owned == ["s1", "s2"]
        }
        #expect(standby.owned.isEmpty)
        #expect(changes.withLock { $0 }.filter { if case .released = $0 { true } else { false } } == [.released("s1"), .released("s2")])
        for shard in ["s1", "s2"] {
            let released = try #require(handedBack.withLock { $0[shard] }, "c's handler finished with \(shard)")
            let taken = try #require(acquired.withLock { $0[shard] })
            #expect(released <= taken, "\(shard) taken by a before c had stored what it held")
        }
        #expect(try await ShardOwnership.owners(database).mapValues(\.instance) == ["s1": "a", "s2": "a"])
        // Requests are withdrawn once granted: a lone standby may take them again if a goes.
        #expect(try await TestPostgres.shared().psql("SELECT COUNT(*) FROM shard_request", database: database.location.database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        await back.stop()
        try await waitUntil("c holding them once a has gone") { standby.owned == ["s1", "s2"] }
    }

    @Test func aFormerHolderCannotStoreItsShardsReadings() async throws {
        let database = try await TestPostgres.freshStore(prefix: "fence")
        let topology = ReadingStoreTests().topology
        let a = Instance(ShardOwnership(database: database, instance: "a", preferred: ["s1"], retry: .milliseconds(200)))
        a.start()
        try await waitUntil("a holding s1") { a.ownership.owned == ["s1"] }
        let asA = try await PostgresReadingStore(database: database, topology: topology, intake: "s1", fence: ShardFence(shard: "s1", instance: "a"))
        let asB = try await PostgresReadingStore(database: database, topology: topology, intake: "s1", fence: ShardFence(shard: "s1", instance: "b"))
        let at: Int64 = 1_782_867_600_000
        #expect(try await asA.ingest([Reading(point: 0, time: at, value: 1)]).stored == 1)
        await #expect(throws: ShardFence.NotHolder.self, "b does not hold s1") {
            try await asB.ingest([Reading(point: 0, time: at + 60_000, value: 2)])
        }

        // a goes; b, standing by, takes s1: now a's writes are refused and b's stored.
        await a.stop()
        let b = Instance(ShardOwnership(database: database, instance: "b", preferred: [], standbyFor: ["s1"], retry: .milliseconds(200), standbyGrace: .zero))
        b.start()
        try await waitUntil("b holding s1") { b.ownership.owned == ["s1"] }
        do {
            try await asA.ingest([Reading(point: 0, time: at + 120_000, value: 3)])
            Issue.record("a stored a reading of a shard it no longer holds")
        } catch let refused as ShardFence.NotHolder {
            #expect(refused.holder == "b")
            #expect(refused.description.contains("held by b"))
        }
        #expect(try await asB.ingest([Reading(point: 0, time: at + 120_000, value: 3)]).stored == 1)
        #expect(try await asB.readingCount() == 2)
        await b.stop()
    }

    /// A lock connection that stops answering (its server process stopped: queries wait, nothing closes)
    /// must not leave the instance believing it holds its shards: it gives them up within its deadline.
    @Test func anInstanceWhoseLockConnectionStopsAnsweringGivesUpItsShards() async throws {
        let database = try await TestPostgres.freshStore(prefix: "silent")
        let b = Instance(ShardOwnership(database: database, instance: "b", preferred: ["s1", "s2"], retry: .milliseconds(200)))
        b.start()
        try await waitUntil("b holding its shards") { b.ownership.owned == ["s1", "s2"] }
        let pid = try await TestPostgres.shared().psql(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'storey shards b' AND datname = current_database()",
            database: database.location.database
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let backend = try #require(Int32(pid), "b's lock connection's server process")
        kill(backend, SIGSTOP)
        defer {
            kill(backend, SIGCONT)
            kill(backend, SIGTERM)
        }
        let stopped = ContinuousClock.now
        try await waitUntil("b giving up its shards", timeout: .seconds(10)) { b.ownership.owned.isEmpty }
        let after = ContinuousClock.now - stopped
        #expect(after <= b.ownership.deadline + .seconds(2), "given up after \(after)")
        #expect(Set(b.changes.withLock { $0 }.compactMap { if case .lost(let shard) = $0 { shard } else { nil } }) == ["s1", "s2"])
        kill(backend, SIGCONT)
        kill(backend, SIGTERM)
        // Its server process gone, the locks are free: b takes its shards again on a new connection.
        try await waitUntil("b holding its shards again") { b.ownership.owned == ["s1", "s2"] }
        await b.stop()
    }
}
