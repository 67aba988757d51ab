import PostgresNIO
import StoreyStore

extension PostgresDeliveryStore {
    /// What SQLite's `DeliveryStore.prune` removes, by the same rules (an open episode keeps its messages,
    /// its resolution goes last, nothing undelivered is touched), in transactions of at most `chunk` rows.
    /// Rows another instance is pruning at the same moment are skipped (`SKIP LOCKED`), not waited for.
    @discardableResult
    public func prune(deliveredBefore: Int64, deadBefore: Int64, chunk: Int) async throws -> DeliveryPruneCounts {
        var counts = DeliveryPruneCounts()
        for (state, column, before) in [("delivered", "delivered_at", deliveredBefore), ("dead", "dead_at", deadBefore)] {
            // Until a round removes nothing: removing an episode's firing frees its resolution for the next round.
            while true {
                let (messages, items) = try await database.transaction { connection -> (Int, Int) in
                    var ids: [Int64] = []
                    let rows = try await connection.query("""
                        SELECT m.id FROM delivery_message m
                        WHERE m.state = \(unescaped: "'\(state)'") AND m.\(unescaped: column) < \(before)
                          AND NOT EXISTS (
                            SELECT 1 FROM delivery_item i
                            WHERE i.message = m.id AND CASE i.kind
                              WHEN 'resolved' THEN \(unescaped: Self.episodeHasOthers("i", notIn: "m.id"))
                              ELSE NOT \(unescaped: Self.episodeIsOver("i")) END)
                        ORDER BY m.\(unescaped: column) LIMIT \(chunk)
                        FOR UPDATE SKIP LOCKED
                        """, logger: database.logger)
                    for try await id in rows.decode(Int64.self) { ids.append(id) }
                    guard !ids.isEmpty else { return (0, 0) }
                    let items = try await first(Int.self, connection.query("""
                        WITH gone AS (DELETE FROM delivery_item WHERE message = ANY(\(ids)) RETURNING 1) SELECT COUNT(*)::bigint FROM gone
                        """, logger: database.logger)) ?? 0
                    try await connection.query("DELETE FROM delivery_message WHERE id = ANY(\(ids))", logger: database.logger)
                    return (ids.count, items)
                }
                counts.messages += messages
                counts.items += items
                if messages == 0 { break }
            }
        }
        while true {
            let skipped = try await first(Int.self, database.client.query("""
                WITH gone AS (
                    DELETE FROM delivery_item WHERE (outbox_id, receiver, recipient) IN (
                        SELECT s.outbox_id, s.receiver, s.recipient FROM delivery_item s
                        WHERE s.skipped IS NOT NULL AND s.routed_at < \(deliveredBefore)
                          AND NOT (s.kind = 'resolved' AND \(unescaped: Self.episodeHasOthers("s")))
                        LIMIT \(chunk) FOR UPDATE SKIP LOCKED)
                    RETURNING 1)
                SELECT COUNT(*)::bigint FROM gone
                """, logger: database.logger)) ?? 0
            counts.items += skipped
            if skipped == 0 { break }
        }
        while true {
            let removed = try await first(Int.self, database.client.query("""
                WITH gone AS (
                    DELETE FROM outbox WHERE id IN (
                        SELECT o.id FROM outbox o
                        WHERE o.routed AND o.created_at < \(deliveredBefore)
                          AND NOT EXISTS (SELECT 1 FROM delivery_item i WHERE i.outbox_id = o.id)
                        ORDER BY o.id LIMIT \(chunk) FOR UPDATE SKIP LOCKED)
                    RETURNING 1)
                SELECT COUNT(*)::bigint FROM gone
                """, logger: database.logger)) ?? 0
            counts.outboxRows += removed
            if removed < chunk { break }
        }
        return counts
    }

    /// SQL: the episode of item `alias` is over on its channel (its resolution was sent, given up on or skipped).
    private static func episodeIsOver(_ alias: String) -> String {
        """
        EXISTS (SELECT 1 FROM delivery_item r
            WHERE r.receiver = \(alias).receiver AND r.recipient = \(alias).recipient AND r.fingerprint = \(alias).fingerprint
              AND r.episode = \(alias).episode AND r.kind = 'resolved' AND (r.message IS NOT NULL OR r.skipped IS NOT NULL))
        """
    }

    /// SQL: other notices of item `alias`'s episode remain on its channel (outside message `message`).
    private static func episodeHasOthers(_ alias: String, notIn message: String? = nil) -> String {
        """
        EXISTS (SELECT 1 FROM delivery_item o
            WHERE o.receiver = \(alias).receiver AND o.recipient = \(alias).recipient AND o.fingerprint = \(alias).fingerprint
              AND o.episode = \(alias).episode AND o.kind != 'resolved'\(message.map { " AND o.message IS DISTINCT FROM \($0)" } ?? ""))
        """
    }
}
