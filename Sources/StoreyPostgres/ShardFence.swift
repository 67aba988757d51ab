import Logging
import PostgresNIO

/// Keeps an instance that lost a shard from writing it. Its writes check, in their own transaction, that
/// it is still the shard's recorded holder, and keep that row share-locked until they commit; a new
/// holder records itself (`ShardOwnership`) only after such a write has committed, and from then on the
/// old holder's writes are refused. So at most the batch in flight when ownership moved is stored by the
/// old holder — durably, once: the new holder's copy of it is a duplicate.
public struct ShardFence: Sendable {
    public var shard: String
    public var instance: String

    public init(shard: String, instance: String) {
        self.shard = shard
        self.instance = instance
    }

    public struct NotHolder: Error, CustomStringConvertible {
        public var shard: String
        public var instance: String
        public var holder: String?
        public var description: String {
            "instance \(instance) no longer holds shard \(shard) (\(holder.map { "held by \($0)" } ?? "held by nobody")): its readings are not stored here"
        }
    }

    func check(_ connection: PostgresConnection, logger: Logger) async throws {
        var holder: String?
        for try await name in try await connection.query(
            "SELECT instance FROM shard_owner WHERE shard = \(shard) FOR SHARE", logger: logger
        ).decode(String.self) { holder = name }
        guard holder == instance else { throw NotHolder(shard: shard, instance: instance, holder: holder) }
    }
}
