import GRDB
import StoreyCore

/// A point's minute figures, made from its raw readings on request. Intake stores none: at a reading a
/// minute each would be the reading written a second time, and they cost intake two fifths of its
/// speed (`benchmarks/README.md`). So they reach back as far as raw readings are kept (`raw_retention`);
/// a point's hour, day and month rows are stored as before.
extension ReadingStore {
    /// The figures the aggregator makes for a point's minutes with `from ≤ window_start < to` (seconds),
    /// oldest first: for a gauge the sum, count, peak and mean of its readings; for a counter the increase
    /// up to each reading, credited to that reading's minute. Minute rows an older version stored fill
    /// the minutes whose readings are gone.
    func pointMinuteFigures(id: String, quantity: Quantity?, from: Int64, to: Int64) throws -> [StoredFigure] {
        guard let point = topology.points.first(where: { $0.id == id }), quantity == nil || quantity == point.quantity else { return [] }
        let fromMillis = from <= Int64.min / 1000 ? Int64.min : from * 1000
        let toMillis = to >= Int64.max / 1000 ? Int64.max : to * 1000
        let (readings, previous, storedRows) = try writer.read { db in
            let pointID = try Int64.fetchOne(db, sql: "SELECT id FROM point WHERE key = ?", arguments: [id])
            let readings = try Row.fetchAll(
                db, sql: "SELECT time, value FROM reading WHERE point = ? AND time >= ? AND time < ? ORDER BY time",
                arguments: [pointID, fromMillis, toMillis]
            ).map { (time: $0[0] as Int64, value: $0[1] as Double) }
            let previous = point.quantity.isCounter
                ? try Row.fetchOne(
                    db, sql: "SELECT time, value FROM reading WHERE point = ? AND time < ? ORDER BY time DESC LIMIT 1",
                    arguments: [pointID, fromMillis]
                ).map { (time: $0[0] as Int64, value: $0[1] as Double) }
                : nil
            let storedRows = try FigureColumns.fetchFigures(
                db, sql: "SELECT * FROM figure WHERE scope_kind = 'point' AND scope_id = ? AND resolution = 'minute' AND window_start >= ? AND window_start < ?",
                arguments: [id, from, to])
            return (readings, previous, storedRows)
        }
        return Self.pointMinuteFigures(point: point, readings: readings, previous: previous, storedRows: storedRows)
    }

    /// The point's minute figures from its readings (oldest first) and, for a counter, the reading just
    /// before them; `storedRows` fill the minutes without readings. Pure: the PostgreSQL store uses it too.
    public static func pointMinuteFigures(
        point: Point, readings: [(time: Int64, value: Double)], previous: (time: Int64, value: Double)?, storedRows: [StoredFigure]
    ) -> [StoredFigure] {
        var minutes: [Int64: FigureValues] = [:]
        var last = previous
        for reading in readings {
            let start = reading.time / 60_000 * 60  // every time zone in use is whole minutes from UTC
            var values = minutes[start] ?? FigureValues()
            values.readings += 1
            if point.quantity.isCounter {
                if let last {
                    values.amount += counterIncrease(from: last, to: reading, rollover: point.rollover, maximumPerHour: point.maximum).amount
                }
                last = reading
            } else {
                values.sampleSum += reading.value
                values.sampleCount += 1
                values.sampleMax = max(values.sampleMax, reading.value)
            }
            minutes[start] = values
        }
        var figures = minutes.map { start, values in
            var values = values
            if !point.quantity.isCounter {
                // A point's level over its minute is the mean of its readings there.
                values.levelSum = values.sampleSum / Double(values.sampleCount)
                values.levelMinutes = 1
                values.levelPeak = values.levelSum
            }
            return StoredFigure(scopeKind: .point, scopeID: point.id, quantity: point.quantity, resolution: .minute, windowStart: start, values: values)
        }
        figures += storedRows.filter { minutes[$0.windowStart] == nil }
        return figures.sorted { $0.windowStart < $1.windowStart }
    }
}
