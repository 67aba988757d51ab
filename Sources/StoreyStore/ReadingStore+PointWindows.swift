import Foundation
import GRDB
import StoreyCore

/// A point's day and month figures, made from its hour rows on request. Intake stores none: with a meter
/// per space and quantity each reading wrote a row of its own to its point's day and month as well as its
/// hour, and those two rows were a fifth of a drain's time over 100,000 points (benchmarks/README.md,
/// "A point's day and month rows"). Every column of a figure merges by addition or maximum, and a
/// building's hours fall whole into its days and months, so a day is exactly the merge of its hours.
extension ReadingStore {
    /// The day or month figures of one point, or of every point (`id` nil), with `from ≤ window_start < to`
    /// (Unix seconds): the hour rows from `from` to the end of the last window starting before `to`,
    /// merged by the point's building's local day or month.
    func pointWindowFigures(
        id: String?, resolution: Resolution, quantity: Quantity?, from: Int64, to: Int64
    ) throws -> [StoredFigure] {
        precondition(resolution == .day || resolution == .month)
        let topology = self.topology
        var aligners = topology.buildings.map { WindowAligner(timeZone: $0.timeZone) }
        // A point no longer configured keeps its rows; its days are taken in the first building's time zone.
        // (One point's own building is found by a scan, cheaper than a map of every point.)
        let buildingOf: [String: Int] = if let id {
            topology.points.first { $0.id == id }.map { [id: $0.buildingIndex] } ?? [:]
        } else {
            Dictionary(topology.points.map { ($0.id, $0.buildingIndex) }, uniquingKeysWith: { first, _ in first })
        }
        var fallback = WindowAligner(timeZone: topology.buildings.first?.timeZone ?? TimeZone(identifier: "UTC")!)

        let hoursEnd = Self.hoursEnd(of: resolution, before: to, aligners: aligners + [fallback])

        let hourRows = try writer.read { db in
            var sql = """
                SELECT * FROM figure WHERE scope_kind = 'point' AND resolution = 'hour' AND window_start >= ? AND window_start < ?
                """
            var arguments: StatementArguments = [from, hoursEnd]
            if let id {
                sql += " AND scope_id = ?"
                arguments += [id]
            }
            if let quantity {
                sql += " AND quantity = ?"
                arguments += [quantity.rawValue]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY window_start", arguments: arguments).map(Self.figure)
        }

        struct WindowKey: Hashable {
            var point: String
            var quantity: Quantity
            var start: Int64
        }
        var windows: [WindowKey: FigureValues] = [:]
        for row in hourRows {
            let start: Int64
            if let building = buildingOf[row.scopeID] {
                start = aligners[building].windows(at: row.windowStart * 1000)[resolution]
            } else {
                start = fallback.windows(at: row.windowStart * 1000)[resolution]
            }
            guard start >= from, start < to else { continue }
            windows[WindowKey(point: row.scopeID, quantity: row.quantity, start: start), default: FigureValues()].merge(row.values)
        }
        return windows.map { key, values in
            StoredFigure(scopeKind: .point, scopeID: key.point, quantity: key.quantity, resolution: resolution, windowStart: key.start, values: values)
        }.sorted { ($0.windowStart, $0.scopeID, $0.quantity.rawValue) < ($1.windowStart, $1.scopeID, $1.quantity.rawValue) }
    }
}
