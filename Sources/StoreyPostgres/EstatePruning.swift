import Logging
import PostgresNIO

/// Raw readings and alert history past their retention, pruned from an estate's shared database by one
/// instance at a time: whoever takes the pruning's advisory lock (on a connection of its own) prunes;
/// the others, finding it taken, skip that round. Figures are kept. (Delivered and dead messages are
/// pruned by each instance's delivery engine, claims keeping them apart.)
public struct EstatePruning: Sendable {
    public let readings: PostgresReadingStore
    public let alerts: PostgresAlertStore
    public let instance: String

    public struct Counts: Sendable, Equatable {
        public var readings: Int
        public var transitions: Int
    }

    public init(readings: PostgresReadingStore, instance: String) {
        self.readings = readings
        alerts = PostgresAlertStore(database: readings.database)
        self.instance = instance
    }

    /// The pruning lock's key, beside the shards' (`ShardOwnership.lockClass`).
    static let lockKey = EstateLocks.pruning

    /// Prunes readings before `readingsBefore` and alert history before `historyBefore` (milliseconds);
    /// nil when another instance is pruning now.
    public func pruneOnce(readingsBefore: Int64, historyBefore: Int64) async throws -> Counts? {
        let database = readings.database
        let connection = try await database.dedicatedConnection(name: "storey pruning \(instance)")
        defer { Task { try? await connection.close() } }
        var locked = false
        for try await value in try await connection.query(
            "SELECT pg_try_advisory_lock(\(ShardOwnership.lockClass), \(Self.lockKey))", logger: database.logger
        ).decode(Bool.self) { locked = value }
        guard locked else { return nil }
        // The lock goes with the connection when it closes.
        let removed = try await readings.pruneReadings(before: readingsBefore)
        let transitions = try await alerts.pruneHistory(before: historyBefore)
        return Counts(readings: removed, transitions: transitions)
    }
}

/// Advisory lock keys of Storey's class (`ShardOwnership.lockClass`) that are not shards'.
public enum EstateLocks {
    /// Storey's class of advisory locks ("STOR"): every lock is (class, key).
    public static let storeyClass = ShardOwnership.lockClass
    /// Held by the instance pruning the estate's database.
    public static let pruning = ShardOwnership.lockKey("storey pruning")
}
