import PostgresNIO
import StoreyCore
import StoreyStore

/// The operator's view's questions (see `ReadingStore+Operator.swift`), on PostgreSQL: any instance
/// answers them for the whole estate, whichever instance stored the figures.
extension PostgresReadingStore {
    /// Figure rows of every scope of `kinds` (not points, by default) for windows of `resolution`
    /// starting at one of `windowStarts`.
    public func windowFigures(
        resolution: Resolution, windowStarts: Set<Int64>, kinds: Set<ScopeKind> = [.space, .tenant, .floor, .building]
    ) async throws -> [StoredFigure] {
        guard !windowStarts.isEmpty, !kinds.isEmpty else { return [] }
        return try await Self.storedFigures(database.client.query("""
            SELECT scope_kind, scope_id, quantity, resolution, window_start, amount, sample_sum, sample_count, sample_max,
                level_sum, level_minutes, level_peak, readings
            FROM figure
            WHERE resolution = \(resolution.rawValue) AND window_start = ANY(\(Array(windowStarts))) AND scope_kind = ANY(\(kinds.map(\.rawValue)))
            """, logger: database.logger))
    }

    /// Figure rows of every scope of one kind with `from ≤ window_start < to`, oldest first.
    public func figures(kind: ScopeKind, resolution: Resolution, from: Int64, to: Int64) async throws -> [StoredFigure] {
        try await Self.storedFigures(database.client.query("""
            SELECT scope_kind, scope_id, quantity, resolution, window_start, amount, sample_sum, sample_count, sample_max,
                level_sum, level_minutes, level_peak, readings
            FROM figure
            WHERE scope_kind = \(kind.rawValue) AND resolution = \(resolution.rawValue) AND window_start >= \(from) AND window_start < \(to)
            ORDER BY window_start
            """, logger: database.logger))
    }

    /// The time (milliseconds) of each point's newest stored raw reading; points with none are absent.
    public func lastReadingTimes(pointIDs: [String]) async throws -> [String: Int64] {
        let rows = try await database.client.query("""
            SELECT p.key, (SELECT MAX(r.time) FROM reading r WHERE r.point = p.id)
            FROM point p WHERE p.key = ANY(\(pointIDs))
            """, logger: database.logger)
        var times: [String: Int64] = [:]
        for try await (key, time) in rows.decode((String, Int64?).self) { if let time { times[key] = time } }
        return times
    }
}
