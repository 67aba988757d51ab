import Foundation
import GRDB
import StoreyCore

/// Read-only questions the operator's view asks: a window of every scope at once, the figures of a
/// scope over a period, when each point last reported. They run on reader connections (WAL), so they
/// never wait for intake and intake never waits for them.
extension ReadingStore {
    /// Figure rows of every space, tenant, floor and building (not points) for windows of `resolution`
    /// starting at one of `windowStarts`.
    public func windowFigures(resolution: Resolution, windowStarts: Set<Int64>, kinds: Set<ScopeKind> = [.space, .tenant, .floor, .building]) throws -> [StoredFigure] {
        guard !windowStarts.isEmpty, !kinds.isEmpty else { return [] }
        return try writer.read { db in
            // Spelled out so SQLite seeks figure_row's key (scope, quantity, resolution, window_start)
            // instead of scanning it.
            let starts = windowStarts.sorted().map(String.init).joined(separator: ",")
            let kindList = kinds.map { "'\($0.rawValue)'" }.joined(separator: ",")
            let sql = """
                SELECT s.kind AS scope_kind, s.key AS scope_id, q.name AS quantity, r.name AS resolution, f.*
                FROM scope s
                JOIN figure_row f ON f.scope = s.id AND f.quantity IN (1,2,3,4,5,6,7)
                    AND f.resolution = \(Schema.code(resolution)) AND f.window_start IN (\(starts))
                JOIN quantity q ON q.code = f.quantity
                JOIN resolution r ON r.code = f.resolution
                WHERE s.kind IN (\(kindList))
                """
            let stored = try FigureColumns.fetchFigures(db, sql: sql)
            guard resolution == .day || resolution == .month else { return stored }
            // The windows' open hours are not in their rows yet (ReadingStore+Folding.swift).
            let unfolded = try unfoldedWindows(
                db, resolution: resolution, kinds: kinds.filter { $0 != .point }, from: windowStarts.min()!, to: windowStarts.max()! + 1
            ).filter { windowStarts.contains($0.windowStart) }
            return Self.merging(stored, unfolded)
        }
    }

    /// Figure rows of every scope of one kind with `from ≤ window_start < to`, oldest first.
    public func figures(kind: ScopeKind, resolution: Resolution, from: Int64, to: Int64) throws -> [StoredFigure] {
        if kind == .point && (resolution == .day || resolution == .month) {
            return try pointWindowFigures(id: nil, resolution: resolution, quantity: nil, from: from, to: to)
        }
        return try writer.read { db in
            let sql = """
                SELECT s.kind AS scope_kind, s.key AS scope_id, q.name AS quantity, r.name AS resolution, f.*
                FROM scope s
                JOIN figure_row f ON f.scope = s.id AND f.quantity IN (1,2,3,4,5,6,7)
                    AND f.resolution = \(Schema.code(resolution)) AND f.window_start >= ? AND f.window_start < ?
                JOIN quantity q ON q.code = f.quantity
                JOIN resolution r ON r.code = f.resolution
                WHERE s.kind = ?
                ORDER BY f.window_start
                """
            let stored = try FigureColumns.fetchFigures(db, sql: sql, arguments: [from, to, kind.rawValue])
            if kind == .point && resolution == .hour {
                // Points' hours not made yet, from their readings (ReadingStore+PointHours.swift).
                let unfolded = try unfoldedPointHours(db, from: from, to: to)
                return (stored + unfolded).sorted { $0.windowStart < $1.windowStart }
            }
            guard resolution == .day || resolution == .month else { return stored }
            return Self.merging(stored, try unfoldedWindows(db, resolution: resolution, kinds: [kind], from: from, to: to))
        }
    }

    /// The time (milliseconds) of each point's newest stored raw reading; points with none are absent.
    /// One indexed lookup per point, so it costs the same however many readings are stored.
    public func lastReadingTimes(pointIDs: [String]) throws -> [String: Int64] {
        try writer.read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT MAX(r.time) FROM reading r WHERE r.point = (SELECT id FROM point WHERE key = ?)
                """)
            var times: [String: Int64] = [:]
            for id in pointIDs {
                if let time = try Int64.fetchOne(statement, arguments: [id]) { times[id] = time }
            }
            return times
        }
    }
}
