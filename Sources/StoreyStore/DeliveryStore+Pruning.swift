import GRDB

/// What one pruning pass removed.
public struct DeliveryPruneCounts: Sendable, Equatable {
    public var messages = 0
    public var items = 0
    public var outboxRows = 0
    public init(messages: Int = 0, items: Int = 0, outboxRows: Int = 0) {
        self.messages = messages
        self.items = items
        self.outboxRows = outboxRows
    }
}

extension DeliveryStore {
    /// Removes what delivery no longer needs, in transactions of at most `chunk` rows so intake never
    /// waits long for the writer:
    /// - messages delivered before `deliveredBefore`, or dead since before `deadBefore`, with their items;
    /// - items skipped (superseded, within a repeat interval…) routed before `deliveredBefore`;
    /// - outbox rows created before `deliveredBefore` that are routed and have no item left.
    /// An alert episode still open on a channel keeps its messages (a resolution held by a mute, or a
    /// reminder, asks whether the alert was told), and an episode's resolution goes last: it is what
    /// says the episode is over. Nothing undelivered is touched: unrouted outbox rows, waiting or held
    /// items, pending messages. Times are milliseconds since the Unix epoch.
    @discardableResult
    public func prune(deliveredBefore: Int64, deadBefore: Int64, chunk: Int) async throws -> DeliveryPruneCounts {
        var counts = DeliveryPruneCounts()
        for (state, index, column, before) in [
            ("delivered", "delivery_message_delivered", "delivered_at", deliveredBefore), ("dead", "delivery_message_dead", "dead_at", deadBefore),
        ] {
            // (The state is written out, not bound: SQLite uses a partial index only for a literal.)
            // Until a round removes nothing: removing an episode's firing frees its resolution for the next round.
            while true {
                let (messages, items) = try await pool.write { db -> (Int, Int) in
                    let ids = try Int64.fetchAll(db, sql: """
                        SELECT m.id FROM delivery_message m INDEXED BY \(index)
                        WHERE m.state = '\(state)' AND m.\(column) < ?
                          AND NOT EXISTS (
                            SELECT 1 FROM delivery_item i INDEXED BY delivery_item_by_message
                            WHERE i.message = m.id AND CASE i.kind
                              WHEN 'resolved' THEN \(Self.episodeHasOthers("i", notIn: "m.id"))
                              ELSE NOT \(Self.episodeIsOver("i")) END)
                        ORDER BY m.\(column) LIMIT ?
                        """, arguments: [before, chunk])
                    var items = 0
                    let deleteItems = try db.cachedStatement(sql: "DELETE FROM delivery_item WHERE message = ?")
                    let deleteMessage = try db.cachedStatement(sql: "DELETE FROM delivery_message WHERE id = ?")
                    for id in ids {
                        try deleteItems.execute(arguments: [id])
                        items += db.changesCount
                        try deleteMessage.execute(arguments: [id])
                    }
                    return (ids.count, items)
                }
                counts.messages += messages
                counts.items += items
                if messages == 0 { break }
            }
        }
        while true {
            let skipped = try await pool.write { db -> Int in
                let keys = try Row.fetchAll(db, sql: """
                    SELECT s.outbox_id, s.receiver, s.recipient FROM delivery_item s INDEXED BY delivery_item_skipped
                    WHERE s.skipped IS NOT NULL AND s.routed_at < ?
                      AND NOT (s.kind = 'resolved' AND \(Self.episodeHasOthers("s")))
                    LIMIT ?
                    """, arguments: [deliveredBefore, chunk])
                let delete = try db.cachedStatement(sql: "DELETE FROM delivery_item WHERE outbox_id = ? AND receiver = ? AND recipient = ?")
                for key in keys { try delete.execute(arguments: [key[0], key[1], key[2]] as StatementArguments) }
                return keys.count
            }
            counts.items += skipped
            if skipped == 0 { break }
        }
        while true {
            let removed = try await pool.write { db -> Int in
                let cursor = try Int64.fetchOne(db, sql: "SELECT value FROM delivery_cursor WHERE name = 'routed'") ?? 0
                let ids = try Int64.fetchAll(db, sql: """
                    SELECT o.id FROM outbox o
                    WHERE o.id <= ? AND o.created_at < ? AND NOT EXISTS (SELECT 1 FROM delivery_item i WHERE i.outbox_id = o.id)
                    ORDER BY o.id LIMIT ?
                    """, arguments: [cursor, deliveredBefore, chunk])
                let delete = try db.cachedStatement(sql: "DELETE FROM outbox WHERE id = ?")
                for id in ids { try delete.execute(arguments: [id]) }
                return ids.count
            }
            counts.outboxRows += removed
            if removed < chunk { break }
        }
        return counts
    }

    /// SQL: the episode of item `alias` is over on its channel (its resolution was sent, given up on or skipped).
    private static func episodeIsOver(_ alias: String) -> String {
        """
        EXISTS (SELECT 1 FROM delivery_item r INDEXED BY delivery_item_by_alert
            WHERE r.receiver = \(alias).receiver AND r.recipient = \(alias).recipient AND r.fingerprint = \(alias).fingerprint
              AND r.episode = \(alias).episode AND r.kind = 'resolved' AND (r.message IS NOT NULL OR r.skipped IS NOT NULL))
        """
    }

    /// SQL: other notices of item `alias`'s episode remain on its channel (outside message `message`).
    private static func episodeHasOthers(_ alias: String, notIn message: String? = nil) -> String {
        """
        EXISTS (SELECT 1 FROM delivery_item o INDEXED BY delivery_item_by_alert
            WHERE o.receiver = \(alias).receiver AND o.recipient = \(alias).recipient AND o.fingerprint = \(alias).fingerprint
              AND o.episode = \(alias).episode AND o.kind != 'resolved'\(message.map { " AND o.message IS NOT \($0)" } ?? ""))
        """
    }
}
