import Foundation
import GRDB
import StoreyCore

/// A space's, tenant's, floor's or building's day and month rows take in its hours once they have closed.
///
/// Written with every reading, the day and month rows of a reading's scopes were two of the six rows it
/// wrote; they are a fifth or more of a drain's time over 100,000 points (benchmarks/README.md, "Day and
/// month rows folded from closed hours"). So intake adds to them only readings of hours that have closed
/// (late ones); an hour still open goes to its hour row alone, and once the newest reading shows it closed,
/// the hour rows are added to their days and months in one pass (`foldHours`). `figure_fold.folded_before`
/// says how far that went, in the same transactions, so a crash leaves no hour counted twice or left out.
///
/// Whoever reads a day or month adds the hour rows not folded yet (`unfoldedWindows`,
/// `AlertStore.figureRows`): every figure column merges by addition or maximum, so the answer is the same
/// as if the rows had been written at once. Points are not concerned: their days and months are made from
/// their hours when asked for (ReadingStore+PointWindows.swift).
extension ReadingStore {
    /// An hour row starting at or before `newest − 1 h` has closed. Hour starts are whole quarter hours in
    /// every time zone, so the fold moves on a quarter hour at a time (at most four passes an hour).
    static func foldTarget(newestReading milliseconds: Int64) -> Int64 {
        let closedBy = milliseconds / 1000 - 3600
        return closedBy - ((closedBy % 900) + 900) % 900 + 1
    }

    /// Whether an hour of one of the time zones starts in `from ..< to` (seconds).
    static func anHourStarts(from: Int64, to: Int64, aligners: inout [WindowAligner]) -> Bool {
        // The hour holding `to − 1` is the last to start before `to`.
        aligners.indices.contains { aligners[$0].windows(at: (to - 1) * 1000).hour >= from }
    }

    /// A scope whose hours are folded, with the building whose time zone makes its days and months.
    struct FoldScope {
        var rowID: Int64
        var building: Int?
    }

    /// Every space, tenant, floor and building in the `scope` table, in row order (a scope no longer in the
    /// topology keeps its rows, and its last hours are folded all the same).
    static func foldScopes(_ topology: Topology, _ db: Database) throws -> [FoldScope] {
        let buildingOf = Self.scopeBuildings(topology, kinds: [.space, .tenant, .floor, .building])
        return try Row.fetchAll(db, sql: "SELECT id, kind, key FROM scope WHERE kind != 'point' ORDER BY id").map { row in
            let kind: String = row["kind"]
            let key: String = row["key"]
            return FoldScope(rowID: row["id"], building: buildingOf["\(kind)\u{1F}\(key)"] ?? nil)
        }
    }

    /// The building (whose time zone makes the days and months) of each scope of `kinds`, by "kind␟id".
    static func scopeBuildings(_ topology: Topology, kinds: [ScopeKind]) -> [String: Int?] {
        var buildings: [String: Int?] = [:]
        for kind in kinds {
            let count = switch kind {
            case .point: topology.points.count
            case .space: topology.spaces.count
            case .tenant: topology.tenants.count
            case .floor: topology.floors.count
            case .building: topology.buildings.count
            }
            for index in 0..<count {
                let scope = Scope(kind, index)
                buildings["\(kind.rawValue)\u{1F}\(topology.scopeID(scope))"] = topology.buildingIndex(of: scope)
            }
        }
        return buildings
    }

    /// Adds every hour row of `scopes` starting in `from ..< to` to its day and month rows, one scope at a
    /// time (an hour of 100,000 points' spaces is hundreds of thousands of rows: never all in memory).
    static func foldHours(
        from: Int64, to: Int64, scopes: [FoldScope], aligners: inout [WindowAligner], fallback: inout WindowAligner, db: Database
    ) throws {
        let select = try db.cachedStatement(sql: """
            SELECT quantity, window_start, amount, sample_sum, sample_count, sample_max, level_sum, level_minutes, level_peak, readings
            FROM figure_row WHERE scope = ? AND quantity IN (1,2,3,4,5,6,7) AND resolution = \(Schema.code(Resolution.hour))
                AND window_start >= ? AND window_start < ?
            """)
        let columns = try FigureColumns(select)
        let upsert = try FigureRowUpsert(db)
        struct Window: Hashable, Comparable {
            var quantity: Int
            var resolution: Int
            var start: Int64
            static func < (a: Window, b: Window) -> Bool { (a.quantity, a.resolution, a.start) < (b.quantity, b.resolution, b.start) }
        }
        var windows: [Window: FigureValues] = [:]
        for scope in scopes {
            windows.removeAll(keepingCapacity: true)
            let rows = try Row.fetchCursor(select, arguments: [scope.rowID, from, to])
            while let row = try rows.next() {
                let quantity = columns.quantityCode(row)
                let hour = columns.windowStart(row)
                let starts = if let building = scope.building { aligners[building].windows(at: hour * 1000) } else { fallback.windows(at: hour * 1000) }
                let values = columns.values(row)
                windows[Window(quantity: quantity, resolution: Schema.code(Resolution.day), start: starts.day), default: FigureValues()].merge(values)
                windows[Window(quantity: quantity, resolution: Schema.code(Resolution.month), start: starts.month), default: FigureValues()].merge(values)
            }
            for (window, values) in windows.sorted(by: { $0.key < $1.key }) {
                try upsert.add(scope: scope.rowID, quantity: window.quantity, resolution: window.resolution, start: window.start, values: values)
            }
        }
    }

    /// The day or month windows, starting in `from ..< to`, that the hours not folded yet add to: hour rows
    /// of the scopes asked for starting at or after the fold, merged by window. `db` is the reader's
    /// transaction, so the fold's position and the rows are one snapshot. Points' hours are never folded:
    /// for them this is every hour of the windows (ReadingStore+PointWindows.swift), rows and hours not made yet.
    func unfoldedWindows(
        _ db: Database, resolution: Resolution, kinds: [ScopeKind], id: String? = nil, quantity: Quantity? = nil, from: Int64, to: Int64
    ) throws -> [StoredFigure] {
        precondition(resolution == .day || resolution == .month)
        precondition(kinds == [.point] || !kinds.contains(.point), "points' hours are never folded, other scopes' are")
        let folded = kinds == [.point] ? from : try Int64.fetchOne(db, sql: "SELECT folded_before FROM figure_fold WHERE id = 1") ?? 0
        let topology = self.topology
        var aligners = topology.buildings.map { WindowAligner(timeZone: $0.timeZone) }
        var fallback = WindowAligner(timeZone: topology.buildings.first?.timeZone ?? TimeZone(identifier: "UTC")!)
        let hoursEnd = Self.hoursEnd(of: resolution, before: to, aligners: aligners + [fallback])
        let hoursFrom = max(folded, from)
        guard hoursFrom < hoursEnd else { return [] }

        var sql = """
            SELECT s.kind AS scope_kind, s.key AS scope_id, q.name AS quantity, r.name AS resolution, f.*
            FROM scope s
            JOIN figure_row f ON f.scope = s.id AND f.quantity IN (\(quantity.map { String(Schema.code($0)) } ?? "1,2,3,4,5,6,7"))
                AND f.resolution = \(Schema.code(Resolution.hour)) AND f.window_start >= ? AND f.window_start < ?
            JOIN quantity q ON q.code = f.quantity
            JOIN resolution r ON r.code = f.resolution
            WHERE s.kind IN (\(kinds.map { "'\($0.rawValue)'" }.joined(separator: ",")))
            """
        var arguments: StatementArguments = [hoursFrom, hoursEnd]
        if let id {
            sql += " AND s.key = ?"
            arguments += [id]
        }
        var hours = try FigureColumns.fetchFigures(db, sql: sql, arguments: arguments)
        if kinds == [.point] {
            // A point's hours not made yet, from its readings (ReadingStore+PointHours.swift).
            let unfolded = if let id { try unfoldedPointHours(db, id: id, from: hoursFrom, to: hoursEnd) } else { try unfoldedPointHours(db, from: hoursFrom, to: hoursEnd) }
            hours += unfolded.filter { quantity == nil || $0.quantity == quantity }
        }
        guard !hours.isEmpty else { return [] }

        // One scope's building is looked up alone, cheaper than a map of 100,000 points. A scope no longer
        // configured keeps its rows; its windows are taken in the first building's time zone.
        let buildingOf: [String: Int?] = if let id {
            Dictionary(uniqueKeysWithValues: kinds.map { kind in
                ("\(kind.rawValue)\u{1F}\(id)", topology.scope(kind: kind, id: id).flatMap { topology.buildingIndex(of: $0) })
            })
        } else {
            Self.scopeBuildings(topology, kinds: kinds)
        }
        var windows: [FigureWindow: FigureValues] = [:]
        for hour in hours {
            let start = if let building = buildingOf["\(hour.scopeKind.rawValue)\u{1F}\(hour.scopeID)"] ?? nil {
                aligners[building].windows(at: hour.windowStart * 1000)[resolution]
            } else {
                fallback.windows(at: hour.windowStart * 1000)[resolution]
            }
            guard start >= from, start < to else { continue }
            windows[FigureWindow(kind: hour.scopeKind, id: hour.scopeID, quantity: hour.quantity, start: start), default: FigureValues()].merge(hour.values)
        }
        return windows.map { key, values in
            StoredFigure(scopeKind: key.kind, scopeID: key.id, quantity: key.quantity, resolution: resolution, windowStart: key.start, values: values)
        }
    }

    /// Where the hours of the day or month windows starting before `to` end: the last such window ends after
    /// `to`, and its hours are wanted too (in whichever of the time zones ends last).
    static func hoursEnd(of resolution: Resolution, before to: Int64, aligners: [WindowAligner]) -> Int64 {
        guard to < Int64.max / 1000 else { return to }
        return aligners.map { aligner -> Int64 in
            var aligner = aligner
            return aligner.windowEnd(resolution, start: aligner.windows(at: (to - 1) * 1000)[resolution])
        }.max()!
    }

    /// Stored day or month rows with the windows of unfolded hours added in, oldest first (then by scope and
    /// quantity name, as the stored rows are read).
    static func merging(_ stored: [StoredFigure], _ unfolded: [StoredFigure]) -> [StoredFigure] {
        guard !unfolded.isEmpty else { return stored }
        var merged: [FigureWindow: StoredFigure] = [:]
        for figure in stored + unfolded {
            let key = FigureWindow(kind: figure.scopeKind, id: figure.scopeID, quantity: figure.quantity, start: figure.windowStart)
            if merged[key] == nil {
                merged[key] = figure
            } else {
                merged[key]!.values.merge(figure.values)
            }
        }
        return merged.values.sorted {
            ($0.windowStart, $0.scopeKind.rawValue, $0.scopeID, $0.quantity.rawValue) < ($1.windowStart, $1.scopeKind.rawValue, $1.scopeID, $1.quantity.rawValue)
        }
    }
}

/// One scope's window of one quantity (its resolution known from the context).
private struct FigureWindow: Hashable {
    var kind: ScopeKind
    var id: String
    var quantity: Quantity
    var start: Int64
}

/// Adds figure contributions to `figure_row`, each column merging as `FigureValues.merge` does.
struct FigureRowUpsert {
    private let statement: RawStatement

    init(_ db: Database) throws {
        statement = try RawStatement(db, sql: """
            INSERT INTO figure_row(scope, quantity, resolution, window_start, amount, sample_sum,
                sample_count, sample_max, level_sum, level_minutes, level_peak, readings)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET
                amount = amount + excluded.amount,
                sample_sum = sample_sum + excluded.sample_sum,
                sample_count = sample_count + excluded.sample_count,
                sample_max = CASE WHEN sample_max IS NULL THEN excluded.sample_max
                    WHEN excluded.sample_max IS NULL THEN sample_max ELSE MAX(sample_max, excluded.sample_max) END,
                level_sum = level_sum + excluded.level_sum,
                level_minutes = level_minutes + excluded.level_minutes,
                level_peak = CASE WHEN level_peak IS NULL THEN excluded.level_peak
                    WHEN excluded.level_peak IS NULL THEN level_peak ELSE MAX(level_peak, excluded.level_peak) END,
                readings = readings + excluded.readings
            """)
    }

    func add(scope: Int64, quantity: Int, resolution: Int, start: Int64, values: FigureValues) throws {
        statement.bind(1, scope)
        statement.bind(2, quantity)
        statement.bind(3, resolution)
        statement.bind(4, start)
        statement.bind(5, values.amount)
        statement.bind(6, values.sampleSum)
        statement.bind(7, values.sampleCount)
        statement.bind(8, values.sampleMax)
        statement.bind(9, values.levelSum)
        statement.bind(10, values.levelMinutes)
        statement.bind(11, values.levelPeak)
        statement.bind(12, values.readings)
        _ = try statement.execute()
    }
}
