import Foundation
import GRDB
import StoreyCore

/// What one batch did to the store.
public struct IngestResult: Sendable, Equatable {
    public var stored = 0
    public var duplicates = 0
    /// Counter rollovers, resets and unbelievable jumps met in the batch.
    public var counterEvents: [CounterEvent: Int] = [:]
    /// The hour, day and month windows of each building the batch added to: a closed one that rules have
    /// not judged yet (readings that arrive after an outage) is judged once it is quiet.
    public var windows: Set<BuildingWindow> = []
    public init(stored: Int = 0, duplicates: Int = 0) {
        self.stored = stored
        self.duplicates = duplicates
    }
}

/// One stored figure row, for reports and the API.
public struct StoredFigure: Sendable, Equatable {
    public var scopeKind: ScopeKind
    public var scopeID: String
    public var quantity: Quantity
    public var resolution: Resolution
    public var windowStart: Int64
    public var values: FigureValues

    public init(scopeKind: ScopeKind, scopeID: String, quantity: Quantity, resolution: Resolution, windowStart: Int64, values: FigureValues) {
        self.scopeKind = scopeKind
        self.scopeID = scopeID
        self.quantity = quantity
        self.resolution = resolution
        self.windowStart = windowStart
        self.values = values
    }
}

/// Raw readings and window figures on SQLite.
///
/// One batch of readings is one transaction: the readings, and the figure contributions they cause, are
/// committed together or not at all, so no figure is ever counted twice or lost across a crash.
/// The aggregator lives here, on the writer's side, because it must see the readings storage accepted.
public final class ReadingStore: @unchecked Sendable {
    // @unchecked: `aggregator` and `pointRowID` belong to the one task that ingests (inside `writer.write`,
    // which serialises writers); `currentTopology` is read by others under `lock`.
    let writer: DatabasePool  // internal: the operator queries (ReadingStore+Operator.swift) read through it
    private let lock = NSLock()
    private(set) var aggregator: Aggregator
    private(set) var pointRowID: [Int64]
    private(set) var scopeRowIDs: ScopeRowIDs
    /// Writer-owned, like the aggregator: how far hours are folded into days and months (`figure_fold`),
    /// the scopes that are, and each building's windows (ReadingStore+Folding.swift).
    private var foldedBefore: Int64 = 0
    private var foldScopes: [FoldScope] = []
    /// Writer-owned too: how far each point's hours are made from its readings (ReadingStore+PointHours.swift).
    var pointFold = PointHourFold()
    var aligners: [WindowAligner] = []
    private var fallbackAligner = WindowAligner(timeZone: TimeZone(identifier: "UTC")!)
    public let path: String
    /// The pool, for the stores that share this database (alerts, outbox).
    var database: DatabasePool { writer }

    /// When a point was last seen is stamped with this clock (milliseconds since the epoch).
    private let now: @Sendable () -> Int64

    public init(
        path: String, topology: Topology,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) throws {
        self.now = now
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL with NORMAL sync survives a killed process; only a power cut may lose the last commits.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // No memory-mapped I/O: mapped database pages count as storeyd's resident memory, up to the whole
            // file (soak, 100,000 points: 303 MB mapped beside a 170 MB heap). Since point minutes stopped being
            // stored, reading pages with pread(2) drains as fast as mapping them (benchmarks/README.md, "Memory").
            try db.execute(sql: "PRAGMA mmap_size = 0")
            if !db.configuration.readonly {
                // The writer keeps the open windows' pages in a 16 MiB cache: 64 MiB drained no faster, with 1,000
                // or 100,000 points, and held 48 MiB more. Readers (API, rules, event stream) keep SQLite's default.
                try db.execute(sql: "PRAGMA cache_size = -16384")
                // Intake rewrites the same hot pages (each scope's open windows, each point's newest readings)
                // commit after commit; checkpointing every 64 MiB of log instead of SQLite's 4 MiB copies each
                // such page back to the file once per many commits (drain 27,000/s → 39,000/s, benchmarks/README.md).
                // A separate checkpointing thread was tried: no faster, and the log could never restart.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            }
        }
        configuration.busyMode = .timeout(5)
        // The `REFERENCES` of `reading` and `figure_row` document the schema; SQLite checking them (GRDB turns
        // the check on) cost every reading's INSERT a lookup of its point, and every new figure row lookups of
        // its scope, quantity and resolution. The writer only ever uses ids it registered (`registerPoints`,
        // `ScopeRowIDs.register`), and no parent row is ever deleted.
        configuration.foreignKeysEnabled = false
        self.path = path
        self.writer = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrator.migrate(writer)
        self.aggregator = Aggregator(topology: topology)
        self.currentTopology = topology
        self.pointRowID = []
        self.scopeRowIDs = ScopeRowIDs()
        (self.pointRowID, self.scopeRowIDs) = try writer.write { db in
            (try Self.registerPoints(topology, db), try ScopeRowIDs.register(topology, db))
        }
        (self.foldedBefore, self.foldScopes, self.pointFold) = try writer.read { [pointRowID] db in
            (try Int64.fetchOne(db, sql: "SELECT folded_before FROM figure_fold WHERE id = 1") ?? 0, try Self.foldScopes(topology, db),
             try Self.pointFold(pointRowID, db))
        }
        adoptAligners(topology)
        self.lastReading = try writer.read { [pointRowID] db in try Self.newestReadings(pointRowID, db) }
        self.lastSeen = lastReading
    }

    private var currentTopology: Topology
    /// Per point index of `currentTopology`: the time of its newest stored reading (under `lock`).
    private var lastReading: [Int64?] = []

    /// The time of each point's newest stored reading, by point index of the current topology.
    public var lastReadingTimes: [Int64?] { lock.withLock { lastReading } }

    /// Per point index: when (wall clock) a reading of it was last stored; after a start, the time of its
    /// newest stored reading. A point "reports" when its readings arrive, whatever time they carry: a
    /// backlog delivered after an outage is the points reporting, not falling silent.
    private var lastSeen: [Int64?] = []
    public var lastSeenTimes: [Int64?] { lock.withLock { lastSeen } }

    private static func newestReadings(_ ids: [Int64], _ db: Database) throws -> [Int64?] {
        let select = try db.cachedStatement(sql: "SELECT MAX(time) FROM reading WHERE point = ?")
        return try ids.map { try Int64.fetchOne(select, arguments: [$0]) }
    }
    /// The topology figures are being made with now.
    public var topology: Topology { lock.withLock { currentTopology } }

    /// Adopts a reloaded topology; figures already stored stay as they are.
    public func replaceTopology(_ topology: Topology) throws {
        try writer.write { db in
            // Points leaving have their hours made now: no pass reaches them once they are gone.
            let staying = Set(topology.points.map(\.id))
            try foldPointHours(ofLeaving: aggregator.topology.points.indices.filter { !staying.contains(aggregator.topology.points[$0].id) }, db: db)
            let ids = try Self.registerPoints(topology, db)
            pointRowID = ids
            pointFold = try Self.pointFold(ids, db)
            scopeRowIDs = try ScopeRowIDs.register(topology, db)
            foldScopes = try Self.foldScopes(topology, db)
            adoptAligners(topology)
            aggregator.replaceTopology(topology)
            let newest = try Self.newestReadings(ids, db)
            lock.withLock {
                // Seen times follow their points by id into the new topology's indices.
                var seenByID: [String: Int64] = [:]
                for (index, point) in currentTopology.points.enumerated() where index < lastSeen.count {
                    if let seen = lastSeen[index] { seenByID[point.id] = seen }
                }
                currentTopology = topology
                lastReading = newest
                lastSeen = topology.points.enumerated().map { index, point in seenByID[point.id] ?? newest[index] }
            }
        }
    }

    private func adoptAligners(_ topology: Topology) {
        aligners = topology.buildings.map { WindowAligner(timeZone: $0.timeZone) }
        fallbackAligner = WindowAligner(timeZone: topology.buildings.first?.timeZone ?? TimeZone(identifier: "UTC")!)
    }

    private static func registerPoints(_ topology: Topology, _ db: Database) throws -> [Int64] {
        let insert = try db.cachedStatement(sql: "INSERT INTO point(key, quantity) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET quantity = excluded.quantity")
        let select = try db.cachedStatement(sql: "SELECT id FROM point WHERE key = ?")
        var ids: [Int64] = []
        ids.reserveCapacity(topology.points.count)
        for point in topology.points {
            try insert.execute(arguments: [point.id, point.quantity.rawValue])
            ids.append(try Int64.fetchOne(select, arguments: [point.id])!)
        }
        return ids
    }

    /// Stores a batch of readings and the figures they make, in one transaction.
    /// On failure nothing of the batch is stored, and it may be offered again.
    @discardableResult
    public func ingest(_ readings: [Reading]) throws -> IngestResult {
        try ingest { _ in readings }
    }

    /// Binds and stores a batch in one step: `bind` runs with the topology in force, inside the writer,
    /// so a reload can never slip between binding readings to points and aggregating them.
    /// `journal` is the intake journal's position these readings end at, recorded in the same transaction.
    @discardableResult
    public func ingest(journal: (generation: Int64, position: Int64)? = nil, bind: (Topology) -> [Reading]) throws -> IngestResult {
        try writer.write { db in
            let foldedAtStart = foldedBefore
            var pointFoldAtStart: PointHourFold?
            do {
                if let journal {
                    let record = try RawStatement(db, sql: "INSERT OR REPLACE INTO intake_journal(id, generation, position) VALUES (1, ?, ?)")
                    record.bind(1, journal.generation)
                    record.bind(2, journal.position)
                    try record.execute()
                }
                let readings = bind(aggregator.topology)
                // Hours the newest reading shows closed go into their days and months before this batch adds
                // to them: what it adds to them then goes to the days and months directly.
                if let newest = readings.lazy.map(\.time).max() {
                    let target = Self.foldTarget(newestReading: newest)
                    if target > foldedBefore {
                        // A pass reads every scope's rows: only when an hour of some building's time zone started in
                        // between (once an hour where hours start on the hour), or rows of a scope no longer configured
                        // may be waiting.
                        if Self.anHourStarts(from: foldedBefore, to: target, aligners: &aligners) || foldScopes.contains(where: { $0.building == nil }) {
                            try Self.foldHours(
                                from: foldedBefore, to: target, scopes: foldScopes, aligners: &aligners, fallback: &fallbackAligner, db: db)
                        }
                        try db.execute(sql: "UPDATE figure_fold SET folded_before = ? WHERE id = 1", arguments: [target])
                        foldedBefore = target
                    }
                    try foldPointHours(target: target, db: db, undo: &pointFoldAtStart)
                }
                var result = IngestResult()
                let insert = try RawStatement(db, sql: "INSERT OR IGNORE INTO reading(point, time, value) VALUES (?, ?, ?)")
                let history = StoredHistory(db: db, pointRowID: pointRowID, scopeRowIDs: scopeRowIDs)
                for reading in readings {
                    insert.bind(1, pointRowID[reading.point])
                    insert.bind(2, reading.time)
                    insert.bind(3, reading.value)
                    if try insert.execute() == 0 {
                        result.duplicates += 1
                        continue
                    }
                    result.stored += 1
                    aggregator.add(reading, history: history)
                    if aggregator.pendingCount >= Self.pendingFigureLimit {
                        try addPendingFigures(db, to: &result)
                    }
                }
                try addPendingFigures(db, to: &result)
                result.counterEvents = aggregator.takeCounterEvents()
                if result.stored > 0 {
                    let seen = now()
                    lock.withLock {
                        for reading in readings {
                            if lastReading[reading.point].map({ $0 < reading.time }) ?? true { lastReading[reading.point] = reading.time }
                            lastSeen[reading.point] = seen
                        }
                    }
                }
                return result
            } catch {
                // The transaction rolls back: forget the caches that counted this batch, and its fold.
                aggregator.discardPending()
                foldedBefore = foldedAtStart
                if let pointFoldAtStart { pointFold = pointFoldAtStart }
                throw error
            }
        }
    }

    /// Minute rows the aggregator may hold before their figures are added to the rows, within a batch's
    /// transaction. 10,000 readings over 100,000 points make 21,000 minute rows and a 12 MB table of the
    /// windows they roll up into; taken at 5,000 (about 2,400 such readings) the table is 3 MB, and a drain of
    /// 1,000,000 such readings went from 15,000 to 18,400–20,700 a second (smaller tables, fewer cache misses;
    /// benchmarks/README.md, "Memory"). Over 1,000 points a batch stays under the limit, and its floor and
    /// building rows are still written once a batch. (Since the contributions are sorted rather than tabled, a
    /// limit of 20,000, a take a batch, held 8 MB more and drained no faster: 2026-11-30.)
    static let pendingFigureLimit = 5_000

    /// A take's figure contributions and their order, kept from take to take with their capacity (writer-owned,
    /// like the aggregator): allocated afresh, such tables were new mappings of memory each time (their size is
    /// above glibc's mmap threshold, `settleMemoryAllocator`), and faulting their pages in was 5 % of a drain's writer.
    private var contributions: [Contribution] = []
    private var order: [ContributionOrder] = []

    private func addPendingFigures(_ db: Database, to result: inout IngestResult) throws {
        contributions.removeAll(keepingCapacity: true)
        aggregator.takePending(foldedBefore: foldedBefore) { key, values in
            // A point's minute rows are not kept: they would be its raw readings again, one row each at a
            // reading a minute, and cost intake two fifths of its speed (benchmarks/README.md). They are
            // made from the readings when asked for (`pointMinuteFigures`). Nor are its day and month rows:
            // they are sums of its hour rows, made when asked for (ReadingStore+PointWindows.swift). Nor its hours
            // not made yet: they are made from its readings once closed (ReadingStore+PointHours.swift); a late
            // reading for an hour made is added to its row.
            if key.scope.kind == .point {
                guard key.resolution == .hour, key.windowStart < pointFold.foldedBefore[key.scope.index] else { return }
            }
            contributions.append(Contribution(
                scope: scopeRowIDs[key.scope], quantity: Schema.code(key.quantity), resolution: Schema.code(key.resolution),
                start: key.windowStart, values: values))
            if key.scope.kind == .building && key.resolution != .minute {
                result.windows.insert(BuildingWindow(building: key.scope.index, resolution: key.resolution, start: key.windowStart))
                if key.resolution == .hour {
                    // An open hour's day and month get it later, but they are changed all the same.
                    let starts = aligners[key.scope.index].windows(at: key.windowStart * 1000)
                    result.windows.insert(BuildingWindow(building: key.scope.index, resolution: .day, start: starts.day))
                    result.windows.insert(BuildingWindow(building: key.scope.index, resolution: .month, start: starts.month))
                }
            }
        }
        try Self.addFigures(contributions, order: &order, db: db)
    }

    /// Adds contributions to their rows, one upsert a row: in key order, each row's page is the last one's or its
    /// neighbour, so SQLite's cache and the CPU's stay warm (a drain over 100,000 points 7 % faster than in a
    /// table's order), and contributions to the same row, now side by side, are added up first. The order is
    /// sorted, not the contributions: they are four times its size.
    private static func addFigures(_ contributions: [Contribution], order: inout [ContributionOrder], db: Database) throws {
        order.removeAll(keepingCapacity: true)
        order.reserveCapacity(contributions.count)
        for (index, contribution) in contributions.enumerated() {
            order.append(ContributionOrder(contribution, index: index))
        }
        order.sort { ($0.row, $0.start) < ($1.row, $1.start) }
        let upsert = try FigureRowUpsert(db)
        var position = 0
        while position < order.count {
            let first = contributions[Int(order[position].index)]
            var values = first.values
            position += 1
            while position < order.count, order[position].row == order[position - 1].row, order[position].start == order[position - 1].start {
                values.merge(contributions[Int(order[position].index)].values)
                position += 1
            }
            try upsert.add(scope: first.scope, quantity: first.quantity, resolution: first.resolution, start: first.start, values: values)
        }
    }

    /// The intake journal position stored last (nil before the first batch).
    public func intakeJournalPosition() throws -> (generation: Int64, position: Int64)? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT generation, position FROM intake_journal WHERE id = 1").map { ($0[0], $0[1]) }
        }
    }

    /// Deletes raw readings older than `time` (milliseconds); figures are kept, and the readings a point's
    /// hours not made yet are made of.
    ///
    /// Point by point along the primary key (there is no index by time: intake would pay for it on every
    /// reading), a few hundred points per transaction so that intake's writes interleave.
    @discardableResult
    public func pruneReadings(before time: Int64) throws -> Int {
        let points = try writer.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM point ORDER BY id") }
        var removed = 0
        for chunk in stride(from: 0, to: points.count, by: 500) {
            removed += try writer.write { db in
                // A point's hours not made yet are made from its readings (ReadingStore+PointHours.swift): those
                // readings stay, and so does the one before them, whose increase to the first a counter's hour needs.
                let delete = try RawStatement(db, sql: """
                    DELETE FROM reading WHERE point = ?1 AND time < MIN(?2, (SELECT hours_folded_before FROM point WHERE id = ?1) * 1000)
                        AND time < COALESCE((SELECT MAX(time) FROM reading WHERE point = ?1
                            AND time < (SELECT hours_folded_before FROM point WHERE id = ?1) * 1000), ?2)
                    """)
                var removed = 0
                for point in points[chunk..<min(chunk + 500, points.count)] {
                    delete.bind(1, point)
                    delete.bind(2, time)
                    removed += try delete.execute()
                }
                return removed
            }
        }
        return removed
    }

    // MARK: Reading back

    /// Answers only if the database can be read: for health checks, which run several times a second
    /// (counting the readings would scan millions of rows each time).
    public func probe() throws {
        _ = try writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM point") }
    }

    public func readingCount() throws -> Int {
        try writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM reading") ?? 0 }
    }

    /// Figure rows of one scope, oldest first, with `from ≤ window_start < to` (Unix seconds).
    public func figures(
        scope kind: ScopeKind, id: String, resolution: Resolution, quantity: Quantity? = nil,
        from: Int64 = .min, to: Int64 = .max
    ) throws -> [StoredFigure] {
        if kind == .point && resolution == .minute {
            return try pointMinuteFigures(id: id, quantity: quantity, from: from, to: to)
        }
        if kind == .point && (resolution == .day || resolution == .month) {
            return try pointWindowFigures(id: id, resolution: resolution, quantity: quantity, from: from, to: to)
        }
        return try writer.read { db in
            var sql = "SELECT * FROM figure WHERE scope_kind = ? AND scope_id = ? AND resolution = ? AND window_start >= ? AND window_start < ?"
            var arguments: StatementArguments = [kind.rawValue, id, resolution.rawValue, from, to]
            if let quantity {
                sql += " AND quantity = ?"
                arguments += [quantity.rawValue]
            }
            sql += " ORDER BY window_start, quantity"
            let stored = try FigureColumns.fetchFigures(db, sql: sql, arguments: arguments)
            if kind == .point && resolution == .hour {
                // Its hours not made yet come from its readings; they start where its rows stop.
                let unfolded = try unfoldedPointHours(db, id: id, from: from, to: to).filter { quantity == nil || $0.quantity == quantity }
                return (stored + unfolded).sorted { $0.windowStart < $1.windowStart }
            }
            guard resolution == .day || resolution == .month else { return stored }
            return Self.merging(stored, try unfoldedWindows(db, resolution: resolution, kinds: [kind], id: id, quantity: quantity, from: from, to: to))
        }
    }
}

/// The aggregator's view of storage, inside the writing transaction (so it sees this batch's readings).
/// A class made once a batch, its statements bound and read through SQLite's C API (`RawStatement`): a drain
/// over 100,000 points asks for the newest minute of every scope and the newest reading of every point it
/// meets first, and through GRDB's rows those lookups were a tenth of its writer's time (benchmarks/README.md).
/// A lookup that fails answers as if nothing were stored, as the aggregator's rare paths expect.
private final class StoredHistory: FigureHistory {
    let db: Database
    let pointRowID: [Int64]
    let scopeRowIDs: ScopeRowIDs
    private var figureSelect, latestSelect, readingsSelect, newestSelect, previousSelect, nextSelect: RawStatement?

    init(db: Database, pointRowID: [Int64], scopeRowIDs: ScopeRowIDs) {
        self.db = db
        self.pointRowID = pointRowID
        self.scopeRowIDs = scopeRowIDs
    }

    /// The statement in `slot`, prepared on first use.
    private func prepared(_ slot: inout RawStatement?, _ sql: @autoclosure () -> String) -> RawStatement? {
        if slot == nil { slot = try? RawStatement(db, sql: sql()) }
        return slot
    }

    func storedFigure(_ key: FigureKey) -> FigureValues? {
        guard let select = prepared(&figureSelect, """
            SELECT \(RawRow.figureColumns) FROM figure_row WHERE scope = ? AND quantity = ? AND resolution = ? AND window_start = ?
            """) else { return nil }
        select.bind(1, scopeRowIDs[key.scope])
        select.bind(2, Schema.code(key.quantity))
        select.bind(3, Schema.code(key.resolution))
        select.bind(4, key.windowStart)
        return (try? select.firstRow { $0.figureValues(from: 0) }) ?? nil
    }

    func latestMinute(scope: Scope, quantity: Quantity) -> (start: Int64, values: FigureValues)? {
        guard let select = prepared(&latestSelect, """
            SELECT window_start, \(RawRow.figureColumns) FROM figure_row
            WHERE scope = ? AND quantity = ? AND resolution = \(Schema.code(Resolution.minute))
            ORDER BY window_start DESC LIMIT 1
            """) else { return nil }
        select.bind(1, scopeRowIDs[scope])
        select.bind(2, Schema.code(quantity))
        return (try? select.firstRow { (start: $0.int64(0), values: $0.figureValues(from: 1)) }) ?? nil
    }

    func pointReadings(point: Int, from: Int64, to: Int64, excluding: Int64) -> [Double]? {
        guard let select = prepared(&readingsSelect, "SELECT value FROM reading WHERE point = ? AND time >= ? AND time < ? AND time != ?") else { return [] }
        select.bind(1, pointRowID[point])
        select.bind(2, from)
        select.bind(3, to)
        select.bind(4, excluding)
        return (try? select.allRows { $0.double(0) }) ?? []
    }

    func newestPointReading(point: Int, excluding: Int64) -> Int64?? {
        guard let select = prepared(&newestSelect, "SELECT time FROM reading WHERE point = ? AND time != ? ORDER BY time DESC LIMIT 1") else {
            return .some(nil)
        }
        select.bind(1, pointRowID[point])
        select.bind(2, excluding)
        return .some((try? select.firstRow { $0.int64(0) }) ?? nil)
    }

    func counterNeighbours(point: Int, around time: Int64) -> (previous: (time: Int64, value: Double)?, next: (time: Int64, value: Double)?) {
        func one(_ select: RawStatement?) -> (time: Int64, value: Double)? {
            guard let select else { return nil }
            select.bind(1, pointRowID[point])
            select.bind(2, time)
            return (try? select.firstRow { (time: $0.int64(0), value: $0.double(1)) }) ?? nil
        }
        return (
            one(prepared(&previousSelect, "SELECT time, value FROM reading WHERE point = ? AND time < ? ORDER BY time DESC LIMIT 1")),
            one(prepared(&nextSelect, "SELECT time, value FROM reading WHERE point = ? AND time > ? ORDER BY time LIMIT 1"))
        )
    }
}

/// The `scope` table's row id of every point, space, tenant, floor and building of a topology, by index.
struct ScopeRowIDs: Sendable {
    private var ids: [ScopeKind: [Int64]] = [:]

    subscript(scope: Scope) -> Int64 { ids[scope.kind]![scope.index] }

    /// Registers the topology's scopes (new ones get a row; known ones keep theirs).
    static func register(_ topology: Topology, _ db: Database) throws -> ScopeRowIDs {
        let insert = try db.cachedStatement(sql: "INSERT INTO scope(kind, key) VALUES (?, ?) ON CONFLICT(kind, key) DO NOTHING")
        let select = try db.cachedStatement(sql: "SELECT id FROM scope WHERE kind = ? AND key = ?")
        var table = ScopeRowIDs()
        let counts: [(ScopeKind, Int)] = [
            (.point, topology.points.count), (.space, topology.spaces.count), (.tenant, topology.tenants.count),
            (.floor, topology.floors.count), (.building, topology.buildings.count),
        ]
        for (kind, count) in counts {
            var list: [Int64] = []
            list.reserveCapacity(count)
            for index in 0..<count {
                let key = topology.scopeID(Scope(kind, index))
                try insert.execute(arguments: [kind.rawValue, key])
                list.append(try Int64.fetchOne(select, arguments: [kind.rawValue, key])!)
            }
            table.ids[kind] = list
        }
        return table
    }
}

/// One contribution to a figure row, by the row's codes (`figure_row`'s key).
struct Contribution {
    var scope: Int64
    var quantity: Int
    var resolution: Int
    var start: Int64
    var values: FigureValues
}

/// A contribution's place in key order: its row's scope, quantity and resolution in one integer (the scope
/// id above eight bits of codes, so that integer order is the key's order), its window start, and its index.
struct ContributionOrder {
    var row: UInt64
    var start: Int64
    var index: Int32

    init(_ contribution: Contribution, index: Int) {
        row = UInt64(contribution.scope) << 8 | UInt64(contribution.quantity) << 4 | UInt64(contribution.resolution)
        start = contribution.start
        self.index = Int32(index)
    }
}
