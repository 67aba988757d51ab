import GRDB

extension AlertStore {
    /// Removes alert history (`alert_transition` rows) older than `before` (milliseconds since the Unix
    /// epoch), in transactions of at most `chunk` rows so intake and ticks never wait long for the writer.
    /// Returns how many rows went.
    ///
    /// The current episode of an alert stays whole, however old its first transition, while the alert is
    /// pending or firing, or changed state since `before` (a resolved alert that fires again within its
    /// flap period continues that episode). Alert rows themselves are kept: there is one per rule and
    /// scope, and its snapshot holds the episode counter that names each episode's mails
    /// (`<storey.FINGERPRINT.EPISODE@…>`): dropping it would start the count again and reuse old ids.
    @discardableResult
    public func pruneHistory(before: Int64, chunk: Int = 2000) throws -> Int {
        var removed = 0
        while true {
            let count = try database.write { db -> Int in
                let ids = try Int64.fetchAll(db, sql: """
                    SELECT t.id FROM alert_transition t INDEXED BY alert_transition_by_time
                    WHERE t.time < ?
                      AND NOT EXISTS (SELECT 1 FROM alert a
                          WHERE a.fingerprint = t.fingerprint AND t.episode >= a.episode
                            AND (a.state IN ('pending', 'firing') OR a.updated_at >= ?))
                    ORDER BY t.time LIMIT ?
                    """, arguments: [before, before, chunk])
                let delete = try db.cachedStatement(sql: "DELETE FROM alert_transition WHERE id = ?")
                for id in ids { try delete.execute(arguments: [id]) }
                return ids.count
            }
            removed += count
            if count < chunk { return removed }
        }
    }
}
