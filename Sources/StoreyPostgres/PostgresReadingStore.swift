import Foundation
import Logging
import PostgresNIO
import StoreyCore
import StoreyStore
import Synchronization

/// Raw readings and window figures on PostgreSQL: what SQLite's `ReadingStore` does, for an instance
/// that shares its database with others. One batch is one transaction (the readings, the figures they
/// make and the intake's journal position, or nothing); the aggregator runs on this side, as with
/// SQLite, against what PostgreSQL held before the batch (`BatchHistory`).
///
/// Writes take turns: `ingest` (the intake's writer) and `replaceTopology` (a reload) each wait for the
/// other to finish. Several instances write one database safely as long as each owns its buildings'
/// points (a shard's advisory lock): a reading's point is written by one instance.
public final class PostgresReadingStore: Sendable {
    public let database: PostgresStore
    /// The intake whose journal position is recorded with each batch (a shard's name, later).
    public let intake: String
    /// When set, a batch is stored only while this instance is the shard's recorded holder (see `ShardFence`).
    public let fence: ShardFence?
    private let now: @Sendable () -> Int64
    private let state: Mutex<State>
    private let writing = Atomic<Bool>(false)

    private struct State {
        var aggregator: Aggregator
        var topology: Topology
        var pointRowID: [Int64]
        var scopeRowIDs: [Scope: Int64]
        var lastReading: [Int64?]
        var lastSeen: [Int64?]
    }

    public init(
        database: PostgresStore, topology: Topology, intake: String = "main", fence: ShardFence? = nil,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) async throws {
        self.database = database
        self.intake = intake
        self.fence = fence
        self.now = now
        let (points, scopes) = try await Self.register(topology, database)
        let newest = try await Self.newestReadings(points, database)
        state = Mutex(State(
            aggregator: Aggregator(topology: topology), topology: topology, pointRowID: points, scopeRowIDs: scopes,
            lastReading: newest, lastSeen: newest))
    }

    /// The topology figures are made with now.
    public var topology: Topology { state.withLock { $0.topology } }
    /// The time of each point's newest stored reading, by point index of the current topology.
    public var lastReadingTimes: [Int64?] { state.withLock { $0.lastReading } }
    /// Per point index: when (wall clock) a reading of it was last stored (see `ReadingStore.lastSeenTimes`).
    public var lastSeenTimes: [Int64?] { state.withLock { $0.lastSeen } }

    /// Adopts a reloaded topology; figures already stored stay as they are.
    public func replaceTopology(_ topology: Topology) async throws {
        await beginWriting()
        defer { writing.store(false, ordering: .releasing) }
        let (points, scopes) = try await Self.register(topology, database)
        let newest = try await Self.newestReadings(points, database)
        state.withLock { state in
            var seenByID: [String: Int64] = [:]
            for (index, point) in state.topology.points.enumerated() where index < state.lastSeen.count {
                if let seen = state.lastSeen[index] { seenByID[point.id] = seen }
            }
            state.aggregator.replaceTopology(topology)
            state.topology = topology
            state.pointRowID = points
            state.scopeRowIDs = scopes
            state.lastReading = newest
            state.lastSeen = topology.points.enumerated().map { index, point in seenByID[point.id] ?? newest[index] }
        }
    }

    @discardableResult
    public func ingest(_ readings: [Reading]) async throws -> IngestResult {
        try await ingest { _ in readings }
    }

    /// Binds and stores a batch in one transaction (see `ReadingStore.ingest(journal:bind:)`).
    @discardableResult
    public func ingest(journal: (generation: Int64, position: Int64)? = nil, bind: (Topology) -> [Reading]) async throws -> IngestResult {
        await beginWriting()
        defer { writing.store(false, ordering: .releasing) }
        let (base, topology, pointRowID, scopeRowIDs) = state.withLock { ($0.aggregator, $0.topology, $0.pointRowID, $0.scopeRowIDs) }
        let readings = bind(topology)
        let logger = database.logger
        let fence = self.fence
        let (aggregator, result) = try await database.transaction { connection -> (Aggregator, IngestResult) in
            if let fence { try await fence.check(connection, logger: logger) }
            if let journal {
                try await connection.query("""
                    INSERT INTO intake_journal(intake, generation, position) VALUES (\(intake), \(journal.generation), \(journal.position))
                    ON CONFLICT (intake) DO UPDATE SET generation = excluded.generation, position = excluded.position
                    """, logger: logger)
            }
            var result = IngestResult()
            // A reading already stored, or met earlier in this batch, is a duplicate: it changes nothing.
            var stored = Set<BatchHistory.PointTime>()
            let existing = try await connection.query("""
                SELECT b.i FROM unnest(\(readings.map { pointRowID[$0.point] }), \(readings.map(\.time))) WITH ORDINALITY AS b(point, time, i)
                JOIN reading r ON r.point = b.point AND r.time = b.time
                """, logger: logger)
            var duplicate = Set<Int>()
            for try await ordinal in existing.decode(Int.self) { duplicate.insert(ordinal - 1) }
            var accepted: [Reading] = []
            for (index, reading) in readings.enumerated() {
                if duplicate.contains(index) || !stored.insert(BatchHistory.PointTime(point: reading.point, time: reading.time)).inserted {
                    result.duplicates += 1
                } else {
                    accepted.append(reading)
                }
            }
            result.stored = accepted.count

            var answers = BatchHistory.Answers()
            var aggregator: Aggregator
            var rounds = 0
            while true {
                aggregator = base
                let history = BatchHistory(answers: answers)
                for reading in accepted {
                    aggregator.add(reading, history: history)
                    history.added(reading)
                }
                if history.misses.isEmpty { break }
                rounds += 1
                // Each round answers every question the last run asked; a run asks only what earlier answers lead to.
                guard rounds <= 50 else { throw PostgresStoreError("the aggregator kept asking new questions of the store (\(rounds) rounds)") }
                try await Self.fetch(history.misses, into: &answers, pointRowID: pointRowID, scopeRowIDs: scopeRowIDs, connection, logger)
            }

            try await connection.query("""
                INSERT INTO reading(point, time, value)
                SELECT * FROM unnest(\(accepted.map { pointRowID[$0.point] }), \(accepted.map(\.time)), \(accepted.map(\.value)))
                ON CONFLICT DO NOTHING
                """, logger: logger)
            // How far this intake's readings reached: any instance's event stream closes windows by the
            // estate's newest (`newestReadingInEstate`), a standby's too.
            if let newest = accepted.map(\.time).max() {
                try await connection.query("""
                    INSERT INTO intake_newest(intake, time) VALUES (\(intake), \(newest))
                    ON CONFLICT (intake) DO UPDATE SET time = GREATEST(intake_newest.time, excluded.time)
                    """, logger: logger)
            }
            let figures = aggregator.takePending()
            try await Self.addFigures(figures, scopeRowIDs: scopeRowIDs, connection, logger)
            for key in figures.keys where key.scope.kind == .building && key.resolution != .minute {
                result.windows.insert(BuildingWindow(building: key.scope.index, resolution: key.resolution, start: key.windowStart))
            }
            result.counterEvents = aggregator.takeCounterEvents()
            return (aggregator, result)
        }
        let seen = now()
        state.withLock { state in
            state.aggregator = aggregator
            guard result.stored > 0 else { return }
            for reading in readings {
                if state.lastReading[reading.point].map({ $0 < reading.time }) ?? true { state.lastReading[reading.point] = reading.time }
                state.lastSeen[reading.point] = seen
            }
        }
        return result
    }

    /// Waits for the write in progress, if any (a reload's topology change takes milliseconds; a batch,
    /// as long as its transaction), then takes the turn.
    private func beginWriting() async {
        while !writing.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// The intake journal position stored last (nil before the first batch).
    public func intakeJournalPosition() async throws -> (generation: Int64, position: Int64)? {
        let rows = try await database.client.query(
            "SELECT generation, position FROM intake_journal WHERE intake = \(intake)", logger: database.logger)
        for try await (generation, position) in rows.decode((Int64, Int64).self) { return (generation, position) }
        return nil
    }

    /// The time (milliseconds) of the newest reading any intake of the estate has stored (nil before any).
    public func newestReadingInEstate() async throws -> Int64? {
        try await first(Int64?.self, try await database.client.query("SELECT MAX(time) FROM intake_newest", logger: database.logger)) ?? nil
    }

    /// Deletes raw readings older than `time` (milliseconds); figures are kept. Point by point along the
    /// primary key, a few hundred points per transaction.
    @discardableResult
    public func pruneReadings(before time: Int64) async throws -> Int {
        let points = state.withLock { $0.pointRowID }
        var removed = 0
        for chunk in stride(from: 0, to: points.count, by: 500) {
            let ids = Array(points[chunk..<min(chunk + 500, points.count)])
            removed += try await first(Int.self, database.client.query("""
                WITH gone AS (DELETE FROM reading WHERE point = ANY(\(ids)) AND time < \(time) RETURNING 1) SELECT COUNT(*)::bigint FROM gone
                """, logger: database.logger)) ?? 0
        }
        return removed
    }

    public func readingCount() async throws -> Int {
        try await first(Int.self, database.client.query("SELECT COUNT(*)::bigint FROM reading", logger: database.logger)) ?? 0
    }

    /// Figure rows of one scope, oldest first, with `from ≤ window_start < to` (Unix seconds); a point's
    /// minutes are made from its readings, as on SQLite.
    public func figures(
        scope kind: ScopeKind, id: String, resolution: Resolution, quantity: Quantity? = nil, from: Int64 = .min, to: Int64 = .max
    ) async throws -> [StoredFigure] {
        if kind == .point && resolution == .minute {
            return try await pointMinuteFigures(id: id, quantity: quantity, from: from, to: to)
        }
        let rows = try await database.client.query("""
            SELECT scope_kind, scope_id, quantity, resolution, window_start, amount, sample_sum, sample_count, sample_max,
                level_sum, level_minutes, level_peak, readings
            FROM figure
            WHERE scope_kind = \(kind.rawValue) AND scope_id = \(id) AND resolution = \(resolution.rawValue)
              AND window_start >= \(from) AND window_start < \(to) AND (\(quantity?.rawValue)::text IS NULL OR quantity = \(quantity?.rawValue))
            ORDER BY window_start, quantity
            """, logger: database.logger)
        return try await Self.storedFigures(rows)
    }

    private func pointMinuteFigures(id: String, quantity: Quantity?, from: Int64, to: Int64) async throws -> [StoredFigure] {
        let (topology, pointRowID) = state.withLock { ($0.topology, $0.pointRowID) }
        guard let index = topology.points.firstIndex(where: { $0.id == id }) else { return [] }
        let point = topology.points[index]
        guard quantity == nil || quantity == point.quantity else { return [] }
        let fromMillis = from <= Int64.min / 1000 ? Int64.min : from * 1000
        let toMillis = to >= Int64.max / 1000 ? Int64.max : to * 1000
        var readings: [(time: Int64, value: Double)] = []
        let rows = try await database.client.query("""
            SELECT time, value FROM reading WHERE point = \(pointRowID[index]) AND time >= \(fromMillis) AND time < \(toMillis) ORDER BY time
            """, logger: database.logger)
        for try await (time, value) in rows.decode((Int64, Double).self) { readings.append((time, value)) }
        var previous: (time: Int64, value: Double)?
        if point.quantity.isCounter {
            let before = try await database.client.query("""
                SELECT time, value FROM reading WHERE point = \(pointRowID[index]) AND time < \(fromMillis) ORDER BY time DESC LIMIT 1
                """, logger: database.logger)
            for try await (time, value) in before.decode((Int64, Double).self) { previous = (time, value) }
        }
        return ReadingStore.pointMinuteFigures(point: point, readings: readings, previous: previous, storedRows: [])
    }

    // MARK: Writing figures

    /// Adds the batch's contributions to the figure rows, all in one statement (columns as arrays).
    private static func addFigures(_ figures: [FigureKey: FigureValues], scopeRowIDs: [Scope: Int64], _ connection: PostgresConnection, _ logger: Logger) async throws {
        // A point's minute rows are not kept, as on SQLite: they are its readings again.
        let rows = figures.filter { !($0.key.scope.kind == .point && $0.key.resolution == .minute) }
        guard !rows.isEmpty else { return }
        let keys = Array(rows.keys)
        let values = keys.map { rows[$0]! }
        // An empty maximum (-infinity) is stored as NULL, as on SQLite.
        func stored(_ value: Double) -> Double { value.isFinite ? value : -.infinity }
        try await connection.query("""
            INSERT INTO figure_row(scope, quantity, resolution, window_start, amount, sample_sum, sample_count, sample_max,
                level_sum, level_minutes, level_peak, readings)
            SELECT scope, quantity, resolution, window_start, amount, sample_sum, sample_count, NULLIF(sample_max, '-Infinity'),
                level_sum, level_minutes, NULLIF(level_peak, '-Infinity'), readings
            FROM unnest(\(keys.map { scopeRowIDs[$0.scope]! }), \(keys.map { Schema.code($0.quantity) })::smallint[],
                \(keys.map { Schema.code($0.resolution) })::smallint[], \(keys.map(\.windowStart)), \(values.map(\.amount)),
                \(values.map(\.sampleSum)), \(values.map(\.sampleCount)), \(values.map { stored($0.sampleMax) }), \(values.map(\.levelSum)),
                \(values.map(\.levelMinutes)), \(values.map { stored($0.levelPeak) }), \(values.map(\.readings)))
                AS f(scope, quantity, resolution, window_start, amount, sample_sum, sample_count, sample_max, level_sum, level_minutes, level_peak, readings)
            ON CONFLICT (scope, quantity, resolution, window_start) DO UPDATE SET
                amount = figure_row.amount + excluded.amount,
                sample_sum = figure_row.sample_sum + excluded.sample_sum,
                sample_count = figure_row.sample_count + excluded.sample_count,
                sample_max = GREATEST(figure_row.sample_max, excluded.sample_max),
                level_sum = figure_row.level_sum + excluded.level_sum,
                level_minutes = figure_row.level_minutes + excluded.level_minutes,
                level_peak = GREATEST(figure_row.level_peak, excluded.level_peak),
                readings = figure_row.readings + excluded.readings
            """, logger: logger)
    }

    // MARK: Answering the aggregator's questions

    private static func fetch(
        _ questions: BatchHistory.Questions, into answers: inout BatchHistory.Answers, pointRowID: [Int64], scopeRowIDs: [Scope: Int64],
        _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        for key in questions.figures {
            let rows = try await connection.query("""
                SELECT \(unescaped: valueColumns) FROM figure_row
                WHERE scope = \(scopeRowIDs[key.scope]!) AND quantity = \(Schema.code(key.quantity)) AND resolution = \(Schema.code(key.resolution))
                  AND window_start = \(key.windowStart)
                """, logger: logger)
            var found: FigureValues?
            for try await row in rows.decode(ValueColumns.self) { found = values(row) }
            answers.figures[key] = .some(found)
        }
        for key in questions.latestMinutes {
            let rows = try await connection.query("""
                SELECT window_start, \(unescaped: valueColumns) FROM figure_row
                WHERE scope = \(scopeRowIDs[key.scope]!) AND quantity = \(Schema.code(key.quantity)) AND resolution = \(Schema.code(Resolution.minute))
                ORDER BY window_start DESC LIMIT 1
                """, logger: logger)
            var found: (start: Int64, values: FigureValues)?
            for try await row in rows.decode((Int64, Double, Double, Int, Double?, Double, Int, Double?, Int).self) {
                found = (row.0, values((row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8)))
            }
            answers.latestMinutes[key] = .some(found)
        }
        for range in questions.readings {
            let rows = try await connection.query("""
                SELECT time, value FROM reading WHERE point = \(pointRowID[range.point]) AND time >= \(range.from) AND time < \(range.to) ORDER BY time
                """, logger: logger)
            var found: [(time: Int64, value: Double)] = []
            for try await (time, value) in rows.decode((Int64, Double).self) { found.append((time, value)) }
            answers.readings[range] = found
        }
        for point in questions.newest {
            let newest = try await first(Int64?.self, connection.query(
                "SELECT MAX(time) FROM reading WHERE point = \(pointRowID[point])", logger: logger)) ?? nil
            answers.newest[point] = .some(newest)
        }
        for key in questions.neighbours {
            var previous: (time: Int64, value: Double)?
            var next: (time: Int64, value: Double)?
            let before = try await connection.query("""
                SELECT time, value FROM reading WHERE point = \(pointRowID[key.point]) AND time < \(key.time) ORDER BY time DESC LIMIT 1
                """, logger: logger)
            for try await (time, value) in before.decode((Int64, Double).self) { previous = (time, value) }
            let after = try await connection.query("""
                SELECT time, value FROM reading WHERE point = \(pointRowID[key.point]) AND time > \(key.time) ORDER BY time LIMIT 1
                """, logger: logger)
            for try await (time, value) in after.decode((Int64, Double).self) { next = (time, value) }
            answers.neighbours[key] = (previous, next)
        }
    }

    // MARK: Rows

    private static let valueColumns = "amount, sample_sum, sample_count, sample_max, level_sum, level_minutes, level_peak, readings"
    private typealias ValueColumns = (Double, Double, Int, Double?, Double, Int, Double?, Int)

    private static func values(_ c: ValueColumns) -> FigureValues {
        FigureValues(
            amount: c.0, sampleSum: c.1, sampleCount: c.2, sampleMax: c.3 ?? -.infinity, levelSum: c.4, levelMinutes: c.5,
            levelPeak: c.6 ?? -.infinity, readings: c.7)
    }

    static func storedFigures(_ rows: PostgresRowSequence) async throws -> [StoredFigure] {
        var figures: [StoredFigure] = []
        for try await c in rows.decode((String, String, String, String, Int64, Double, Double, Int, Double?, Double, Int, Double?, Int).self) {
            guard let kind = ScopeKind(rawValue: c.0), let quantity = Quantity(rawValue: c.2), let resolution = Resolution(rawValue: c.3) else { continue }
            figures.append(StoredFigure(
                scopeKind: kind, scopeID: c.1, quantity: quantity, resolution: resolution, windowStart: c.4,
                values: values((c.5, c.6, c.7, c.8, c.9, c.10, c.11, c.12))))
        }
        return figures
    }

    // MARK: Topology

    /// Registers the topology's points and scopes (new ones get a row, known ones keep theirs).
    private static func register(_ topology: Topology, _ database: PostgresStore) async throws -> (points: [Int64], scopes: [Scope: Int64]) {
        try await database.transaction { connection in
            let logger = database.logger
            let keys = topology.points.map(\.id)
            try await connection.query("""
                INSERT INTO point(key, quantity) SELECT * FROM unnest(\(keys), \(topology.points.map(\.quantity.rawValue)))
                ON CONFLICT (key) DO UPDATE SET quantity = excluded.quantity
                """, logger: logger)
            var pointIDs: [String: Int64] = [:]
            for try await (key, id) in try await connection.query(
                "SELECT key, id FROM point WHERE key = ANY(\(keys))", logger: logger
            ).decode((String, Int64).self) { pointIDs[key] = id }
            var scopes: [Scope] = []
            for (kind, count) in [
                (ScopeKind.point, topology.points.count), (.space, topology.spaces.count), (.tenant, topology.tenants.count),
                (.floor, topology.floors.count), (.building, topology.buildings.count),
            ] {
                scopes += (0..<count).map { Scope(kind, $0) }
            }
            let kinds = scopes.map(\.kind.rawValue)
            let scopeKeys = scopes.map { topology.scopeID($0) }
            try await connection.query("""
                INSERT INTO scope(kind, key) SELECT * FROM unnest(\(kinds), \(scopeKeys)) ON CONFLICT (kind, key) DO NOTHING
                """, logger: logger)
            var scopeIDs: [String: Int64] = [:]
            for try await (kind, key, id) in try await connection.query(
                "SELECT s.kind, s.key, s.id FROM scope s JOIN unnest(\(kinds), \(scopeKeys)) AS t(kind, key) ON s.kind = t.kind AND s.key = t.key",
                logger: logger
            ).decode((String, String, Int64).self) { scopeIDs["\(kind)\u{0}\(key)"] = id }
            var table: [Scope: Int64] = [:]
            for (scope, (kind, key)) in zip(scopes, zip(kinds, scopeKeys)) { table[scope] = scopeIDs["\(kind)\u{0}\(key)"] }
            return (keys.map { pointIDs[$0]! }, table)
        }
    }

    private static func newestReadings(_ points: [Int64], _ database: PostgresStore) async throws -> [Int64?] {
        var newest: [Int64: Int64] = [:]
        let rows = try await database.client.query("""
            SELECT p.id, (SELECT MAX(time) FROM reading r WHERE r.point = p.id) FROM unnest(\(points)) AS p(id)
            """, logger: database.logger)
        for try await (id, time) in rows.decode((Int64, Int64?).self) { if let time { newest[id] = time } }
        return points.map { newest[$0] }
    }
}

/// A PostgreSQL store's own failure, phrased for the log.
public struct PostgresStoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
