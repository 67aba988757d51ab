import Foundation
import GRDB
import StoreyCore

/// A point's hour rows are made from its raw readings, not added to with every reading.
///
/// With a meter per space and quantity, a reading's point hour was one of the three figure rows it wrote over
/// 100,000 points, and the one that never merged within a batch: the point's next reading comes 100,000
/// readings later (benchmarks/README.md, "The next step, sized"). So intake writes a point's hours only once
/// they have closed, each from the readings it holds, in one pass over the points (`foldPointHours`), a few
/// hundred points a batch inside intake's transactions. `point.hours_folded_before` says, per point, which hours
/// are made: before it, the hour rows (a late reading is added to its row as before); from it on, the raw
/// readings, which whoever reads a point's hours turns into hours (`unfoldedPointHours`), as its minutes are
/// (ReadingStore+PointMinutes.swift). Both are written in the same transactions, so a crash leaves no hour
/// counted twice or left out.
///
/// An hour made from readings is the merge of its minutes made from readings: for a gauge, its peak is the
/// highest whole minute's mean (the aggregator's peak is the highest running mean, which the PostgreSQL store
/// keeps, and late readings added to a made row still bring).
extension ReadingStore {
    /// Points whose hours are made in one batch's transaction: over 100,000 points reporting every 10 s an hour
    /// is 360 readings a point, so 500 points read 180,000 readings, and a pass takes 200 batches.
    static let pointsFoldedPerBatch = 500

    /// Every point's hours starting before `target` (seconds) made, a few hundred points a batch; called before a
    /// batch's readings are stored, so that what the batch adds to a made hour is added to its row.
    /// `undo` gets the fold as it was before the batch changed it, to restore if the transaction fails.
    func foldPointHours(target: Int64, db: Database, undo: inout PointHourFold?) throws {
        if pointFold.passTarget == nil {
            guard target > pointFold.allFoldedBefore else { return }
            if undo == nil { undo = pointFold }
            // No hour of any building starts in between: no point has readings of such hours to make.
            guard Self.anHourStarts(from: pointFold.allFoldedBefore, to: target, aligners: &aligners) else {
                pointFold.allFoldedBefore = target
                return
            }
            pointFold.passTarget = target
            pointFold.cursor = 0
        } else if undo == nil {
            undo = pointFold
        }
        let passTarget = pointFold.passTarget!
        let upsert = try FigureRowUpsert(db)
        let points = aggregator.topology.points.count
        var made = 0
        while pointFold.cursor < points && made < Self.pointsFoldedPerBatch {
            let index = pointFold.cursor
            pointFold.cursor += 1
            guard pointFold.foldedBefore[index] < passTarget else { continue }
            try makeHours(ofPoint: index, to: passTarget, upsert: upsert, db: db)
            pointFold.foldedBefore[index] = passTarget
            made += 1
        }
        if pointFold.cursor >= points {
            pointFold.allFoldedBefore = passTarget
            pointFold.passTarget = nil
            pointFold.cursor = 0
        }
    }

    /// Makes every hour of the points leaving the topology (`leaving`, by index of the current one): no pass
    /// will reach them once they are gone. After this, all their readings are in hour rows.
    func foldPointHours(ofLeaving leaving: [Int], db: Database) throws {
        let upsert = try FigureRowUpsert(db)
        for index in leaving {
            guard let newest = try Int64.fetchOne(db, sql: "SELECT MAX(time) FROM reading WHERE point = ?", arguments: [pointRowID[index]]) else { continue }
            let to = aligners[aggregator.topology.points[index].buildingIndex].windows(at: newest).hour + 1
            guard pointFold.foldedBefore[index] < to else { continue }
            try makeHours(ofPoint: index, to: to, upsert: upsert, db: db)
        }
    }

    /// Writes the hours of point `index` starting from its `hours_folded_before` up to `to` from its readings, and
    /// records `to` as its new `hours_folded_before`.
    private func makeHours(ofPoint index: Int, to: Int64, upsert: FigureRowUpsert, db: Database) throws {
        let point = aggregator.topology.points[index]
        let from = pointFold.foldedBefore[index]
        let (readings, previous) = try Self.pointHourReadings(
            db, pointRowID: pointRowID[index], counter: point.quantity.isCounter, from: from, to: to, aligner: &aligners[point.buildingIndex])
        let scope = scopeRowIDs[Scope(.point, index)]
        for hour in Self.pointHours(point: point, readings: readings, previous: previous, aligner: &aligners[point.buildingIndex], from: from, to: to) {
            try upsert.add(scope: scope, quantity: Schema.code(point.quantity), resolution: Schema.code(Resolution.hour), start: hour.start, values: hour.values)
        }
        let record = try RawStatement(db, sql: "UPDATE point SET hours_folded_before = ? WHERE id = ?")
        record.bind(1, to)
        record.bind(2, pointRowID[index])
        _ = try record.execute()
    }

    /// Each point's `hours_folded_before`, by index of `topology` (`ids`: their `point` row ids), in one read
    /// (a lookup per point was 100,000 of them at every start).
    static func pointFold(_ ids: [Int64], _ db: Database) throws -> PointHourFold {
        var byID: [Int64: Int64] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT id, hours_folded_before FROM point")
        while let row = try rows.next() { byID[row[0]] = row[1] }
        let foldedBefore = ids.map { byID[$0] ?? 0 }
        return PointHourFold(foldedBefore: foldedBefore, allFoldedBefore: foldedBefore.min() ?? 0)
    }

    /// The readings a point's hours starting in `from ..< to` (seconds) are made of, oldest first, and for a
    /// counter the reading before them (its increase to the first is the first's).
    static func pointHourReadings(
        _ db: Database, pointRowID: Int64, counter: Bool, from: Int64, to: Int64, aligner: inout WindowAligner
    ) throws -> (readings: [(time: Int64, value: Double)], previous: (time: Int64, value: Double)?) {
        // From the first hour starting at or after `from` (the fold's `from` is a quarter hour and a second).
        var lower = milliseconds(from)
        if lower > Int64.min && lower < Int64.max {
            let hour = aligner.windows(at: lower).hour
            lower = milliseconds(hour >= from ? hour : aligner.windowEnd(.hour, start: hour))
        }
        // An hour is never longer than 3,600 s (one repeated when clocks go back is two windows).
        let upper = milliseconds(to >= Int64.max - 3_600 ? Int64.max : to + 3_600)
        let select = try RawStatement(db, sql: "SELECT time, value FROM reading WHERE point = ? AND time >= ? AND time < ? ORDER BY time")
        select.bind(1, pointRowID)
        select.bind(2, lower)
        select.bind(3, upper)
        let readings = try select.allRows { (time: $0.int64(0), value: $0.double(1)) }
        guard counter, !readings.isEmpty else { return (readings, nil) }
        let before = try RawStatement(db, sql: "SELECT time, value FROM reading WHERE point = ? AND time < ? ORDER BY time DESC LIMIT 1")
        before.bind(1, pointRowID)
        before.bind(2, lower)
        return (readings, try before.firstRow { (time: $0.int64(0), value: $0.double(1)) })
    }

    /// Seconds to milliseconds, the extremes kept as extremes.
    private static func milliseconds(_ seconds: Int64) -> Int64 {
        if seconds <= Int64.min / 1000 { return Int64.min }
        if seconds >= Int64.max / 1000 { return Int64.max }
        return seconds * 1000
    }

    /// A point's hours starting in `from ..< to` (seconds), oldest first, from its readings (oldest first) and,
    /// for a counter, the reading before them: the merge of its minutes made from readings. Pure.
    static func pointHours(
        point: Point, readings: [(time: Int64, value: Double)], previous: (time: Int64, value: Double)?,
        aligner: inout WindowAligner, from: Int64, to: Int64
    ) -> [(start: Int64, values: FigureValues)] {
        guard !readings.isEmpty else { return [] }
        var hours: [Int64: FigureValues] = [:]
        for minute in pointMinuteFigures(point: point, readings: readings, previous: previous, storedRows: []) {
            let hour = aligner.windows(at: minute.windowStart * 1000).hour
            guard hour >= from, hour < to else { continue }
            hours[hour, default: FigureValues()].merge(minute.values)
        }
        return hours.sorted { $0.key < $1.key }.map { (start: $0.key, values: $0.value) }
    }

    /// The hours of point `id` starting in `from ..< to` (seconds) that are not made yet, from its raw readings,
    /// oldest first. `db` is the reader's transaction: the point's fold and its readings are one snapshot. A point
    /// no longer configured has all its hours made (`foldPointHours(ofLeaving:)`).
    func unfoldedPointHours(_ db: Database, id: String, from: Int64, to: Int64) throws -> [StoredFigure] {
        let topology = self.topology
        guard let index = topology.pointByID[id],
              let row = try Row.fetchOne(db, sql: "SELECT id, hours_folded_before FROM point WHERE key = ?", arguments: [id])
        else { return [] }
        var aligners: [Int: WindowAligner] = [:]
        return try Self.unfoldedHours(db, point: topology.points[index], rowID: row[0], foldedBefore: row[1], from: from, to: to, topology: topology, aligners: &aligners)
    }

    /// The same for every point configured, oldest first within each point.
    func unfoldedPointHours(_ db: Database, from: Int64, to: Int64) throws -> [StoredFigure] {
        let topology = self.topology
        var folds: [String: (id: Int64, foldedBefore: Int64)] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, id, hours_folded_before FROM point") { folds[row[0]] = (row[1], row[2]) }
        var aligners: [Int: WindowAligner] = [:]
        return try topology.points.flatMap { point -> [StoredFigure] in
            guard let fold = folds[point.id] else { return [] }
            return try Self.unfoldedHours(db, point: point, rowID: fold.id, foldedBefore: fold.foldedBefore, from: from, to: to, topology: topology, aligners: &aligners)
        }
    }

    private static func unfoldedHours(
        _ db: Database, point: Point, rowID: Int64, foldedBefore: Int64, from: Int64, to: Int64, topology: Topology, aligners: inout [Int: WindowAligner]
    ) throws -> [StoredFigure] {
        let start = max(from, foldedBefore)
        guard start < to else { return [] }
        var aligner = aligners[point.buildingIndex] ?? WindowAligner(timeZone: topology.buildings[point.buildingIndex].timeZone)
        defer { aligners[point.buildingIndex] = aligner }
        let (readings, previous) = try pointHourReadings(db, pointRowID: rowID, counter: point.quantity.isCounter, from: start, to: to, aligner: &aligner)
        guard !readings.isEmpty else { return [] }
        return pointHours(point: point, readings: readings, previous: previous, aligner: &aligner, from: start, to: to).map {
            StoredFigure(scopeKind: .point, scopeID: point.id, quantity: point.quantity, resolution: .hour, windowStart: $0.start, values: $0.values)
        }
    }
}

/// How far a point's hours are made (`point.hours_folded_before`), held by the writer.
struct PointHourFold {
    /// Per point index: its hours starting before this (seconds) are in hour rows.
    var foldedBefore: [Int64] = []
    /// Every point's hours starting before this are made, or no hour starts between it and theirs.
    var allFoldedBefore: Int64 = 0
    /// The pass under way: every point is being brought to it, from `cursor` on.
    var passTarget: Int64?
    var cursor = 0
}
