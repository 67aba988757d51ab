import StoreyCore

/// Judges a building's window from figures on PostgreSQL. The judge reads figures synchronously (it is
/// shared with `storey evaluate`, which reads memory); PostgreSQL answers asynchronously. So, as with
/// intake (`BatchHistory`), the window is judged on copies of the judge and the evaluator against the
/// answers fetched so far; a read without an answer is recorded and answered with nothing, the copies are
/// thrown away, the reads are fetched, and the window is judged again until it reads nothing new. The
/// judgement that completes is the one SQLite's `StoredFigures` would give.
public enum PostgresWindowJudging {
    public static func judge(
        _ window: BuildingWindow, judge: inout WindowJudge, evaluator: inout UnderuseEvaluator, alerts: PostgresAlertStore, now: Int64? = nil
    ) async throws -> [AlertAction] {
        let source = RecordedFigures(topology: judge.topology)
        var rounds = 0
        while true {
            var trialJudge = judge
            var trialEvaluator = evaluator
            source.misses = RecordedFigures.Reads()
            let actions = try trialJudge.judge(window, evaluator: &trialEvaluator, source: source, now: now)
            if source.misses.isEmpty {
                judge = trialJudge
                evaluator = trialEvaluator
                return actions
            }
            rounds += 1
            guard rounds <= 20 else { throw PostgresStoreError("judging \(window) kept reading new figures (\(rounds) rounds)") }
            try await source.fetchMisses(from: alerts)
        }
    }
}

/// Figure reads answered from what was fetched; the rest recorded.
final class RecordedFigures: WindowFigureSource, @unchecked Sendable {
    // @unchecked: used by one judgement at a time, within one task.
    struct RowsRead: Hashable { var scopes: [Scope], quantities: [Quantity], resolution: Resolution, windowStart: Int64 }
    struct PointsRead: Hashable { var points: [Int], resolution: Resolution, windowStart: Int64, windowEnd: Int64 }
    struct Reads {
        var rows: Set<RowsRead> = []
        var points: Set<PointsRead> = []
        var isEmpty: Bool { rows.isEmpty && points.isEmpty }
    }

    let topology: Topology
    private var rows: [RowsRead: [[(Quantity, FigureValues)]]] = [:]
    private var points: [PointsRead: [Int]] = [:]
    var misses = Reads()

    init(topology: Topology) { self.topology = topology }

    /// PostgreSQL stores every window's rows as readings arrive: the window's end is not needed.
    func figureRows(
        of scopes: [Scope], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64
    ) throws -> [[(Quantity, FigureValues)]] {
        let read = RowsRead(scopes: scopes, quantities: quantities, resolution: resolution, windowStart: windowStart)
        if let answer = rows[read] { return answer }
        misses.rows.insert(read)
        return scopes.map { _ in [] }
    }

    func pointReadings(of points: [Int], resolution: Resolution, windowStart: Int64, windowEnd: Int64) throws -> [Int] {
        let read = PointsRead(points: points, resolution: resolution, windowStart: windowStart, windowEnd: windowEnd)
        if let answer = self.points[read] { return answer }
        misses.points.insert(read)
        return points.map { _ in 0 }
    }

    func fetchMisses(from alerts: PostgresAlertStore) async throws {
        for read in misses.rows {
            rows[read] = try await alerts.figureRows(
                of: read.scopes.map { ($0.kind, topology.scopeID($0)) }, quantities: read.quantities, resolution: read.resolution,
                windowStart: read.windowStart)
        }
        for read in misses.points {
            points[read] = try await alerts.pointReadings(
                of: read.points.map { (topology.points[$0].id, topology.points[$0].quantity) }, resolution: read.resolution,
                windowStart: read.windowStart, windowEnd: read.windowEnd)
        }
    }
}
