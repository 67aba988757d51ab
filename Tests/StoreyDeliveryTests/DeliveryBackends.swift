import Foundation
import GRDB
import Logging
import PostgresNIO
import StoreyPostgres
import StoreyStore
import StoreyTestSupport
import Testing

/// The delivery store's backends, for tests that run the same steps on each.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgresql
    var testDescription: String { rawValue }
}

/// A delivery store on one backend, on a database of its own, with what the tests need besides the
/// store's own steps: outbox rows appended as the alert side appends them, and counts read by SQL
/// (the same statement runs on both backends).
struct DeliveryStoreFixture: Sendable {
    let store: any DeliveryStorage
    let appendOutbox: @Sendable (_ createdAt: Int64, _ fingerprint: String, _ kind: String, _ notification: String) async throws -> Int64
    let count: @Sendable (_ sql: String) async throws -> Int
    /// Outbox ids, in order.
    let outboxIDs: @Sendable () async throws -> [Int64]

    /// Makes the fixture; on PostgreSQL without a server installed the test is cancelled, saying why.
    static func make(_ backend: StoreBackend, instance: String = "test") async throws -> DeliveryStoreFixture {
        switch backend {
        case .sqlite:
            let path = try makeTemporaryDirectory(prefix: "storey-delivery").appendingPathComponent("storey.db").path
            let store = try DeliveryStore(path: path)
            // Writing beside the engine, as the alert side does: wait for its transactions, never fail on them.
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            let writer = try DatabaseQueue(path: path, configuration: configuration)
            return DeliveryStoreFixture(
                store: store,
                appendOutbox: { createdAt, fingerprint, kind, notification in
                    try await writer.write { db in
                        try db.execute(
                            sql: "INSERT INTO outbox(created_at, fingerprint, kind, notification) VALUES (?, ?, ?, ?)",
                            arguments: [createdAt, fingerprint, kind, notification])
                        return db.lastInsertedRowID
                    }
                },
                count: { sql in try await writer.read { try Int.fetchOne($0, sql: sql) ?? -1 } },
                outboxIDs: { try await writer.read { try Int64.fetchAll($0, sql: "SELECT id FROM outbox ORDER BY id") } })
        case .postgresql:
            let database = try await TestPostgres.freshStore(prefix: "delivery")
            let store = PostgresDeliveryStore(database: database, instance: instance)
            return DeliveryStoreFixture(postgres: store)
        }
    }

    /// One instance's store on a PostgreSQL database several share.
    static func sharing(_ database: PostgresStore, instance: String) -> DeliveryStoreFixture {
        DeliveryStoreFixture(postgres: PostgresDeliveryStore(database: database, instance: instance))
    }

    private init(
        store: any DeliveryStorage, appendOutbox: @escaping @Sendable (Int64, String, String, String) async throws -> Int64,
        count: @escaping @Sendable (String) async throws -> Int, outboxIDs: @escaping @Sendable () async throws -> [Int64]
    ) {
        self.store = store
        self.appendOutbox = appendOutbox
        self.count = count
        self.outboxIDs = outboxIDs
    }

    private init(postgres store: PostgresDeliveryStore) {
        let client = store.database.client
        self.init(
            store: store,
            appendOutbox: { createdAt, fingerprint, kind, notification in
                let rows = try await client.query("""
                    INSERT INTO outbox(created_at, fingerprint, kind, notification) VALUES (\(createdAt), \(fingerprint), \(kind), \(notification))
                    RETURNING id
                    """)
                for try await id in rows.decode(Int64.self) { return id }
                throw TestSupportError("INSERT … RETURNING gave no id")
            },
            count: { sql in
                for try await value in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self) { return value }
                return -1
            },
            outboxIDs: {
                var ids: [Int64] = []
                for try await id in try await client.query("SELECT id FROM outbox ORDER BY id").decode(Int64.self) { ids.append(id) }
                return ids
            })
    }
}

