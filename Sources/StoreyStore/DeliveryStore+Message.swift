import GRDB

extension DeliveryStore {
    /// One message by its id, with the outbox ids it carries (nil: no such message).
    public func message(id: Int64) async throws -> DeliveryMessageRecord? {
        try await pool.read { db in
            guard var record = try Row.fetchOne(
                db, sql: "SELECT \(Self.messageColumns) FROM delivery_message m WHERE m.id = ?", arguments: [id]
            ).map(Self.message) else { return nil }
            record.outboxIDs = try Int64.fetchAll(
                db, sql: "SELECT outbox_id FROM delivery_item WHERE message = ? ORDER BY outbox_id", arguments: [id])
            return record
        }
    }
}
