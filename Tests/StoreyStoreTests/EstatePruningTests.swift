import Foundation
import Logging
import StoreyCore
import StoreyPostgres
import StoreyTestSupport
import Testing

/// An estate's pruning on a real PostgreSQL: raw readings past retention go, figures stay; and while
/// another instance holds the pruning lock, this one skips its round and deletes nothing.
@Suite struct EstatePruningTests {
    @Test func oneInstanceAtATimePrunesRawReadingsPastRetentionAndKeepsFigures() async throws {
        let database = try await TestPostgres.freshStore(prefix: "pruning")
        let store = try await PostgresReadingStore(database: database, topology: ReadingStoreTests().topology, intake: "s1")
        let day: Int64 = 86_400_000
        let now: Int64 = 1_782_867_600_000
        // Ten old readings (40 days ago, a minute apart) and ten recent ones, of the energy counter.
        let old = (0..<10).map { Reading(point: 0, time: now - 40 * day + Int64($0) * 60_000, value: Double($0)) }
        let recent = (0..<10).map { Reading(point: 0, time: now - day + Int64($0) * 60_000, value: 100 + Double($0)) }
        _ = try await store.ingest(old + recent)
        let hoursBefore = try await store.figures(scope: .space, id: "s1", resolution: .hour, quantity: .energy)
        #expect(try await store.readingCount() == 20)

        // Another instance is pruning: this one skips, and nothing goes.
        let other = try await database.dedicatedConnection(name: "the other instance pruning")
        _ = try await other.query("SELECT pg_advisory_lock(\(EstateLocks.storeyClass), \(EstateLocks.pruning))", logger: Logger(label: "test.pruning")).collect()
        let pruning = EstatePruning(readings: store, instance: "a")
        #expect(try await pruning.pruneOnce(readingsBefore: now - 30 * day, historyBefore: now - 400 * day) == nil)
        #expect(try await store.readingCount() == 20)

        // It has finished (its connection gone, the lock with it): now this one prunes.
        try await other.close()
        let counts = try #require(try await pruning.pruneOnce(readingsBefore: now - 30 * day, historyBefore: now - 400 * day))
        #expect(counts.readings == 10)
        #expect(try await store.readingCount() == 10)
        // The hours those readings made are kept.
        #expect(try await store.figures(scope: .space, id: "s1", resolution: .hour, quantity: .energy).map(\.values.amount) == hoursBefore.map(\.values.amount))
    }
}
