import StoreyCore

/// The aggregator's view of storage for one batch on PostgreSQL. The aggregator asks synchronously, and
/// rarely (after a start, for readings out of order); PostgreSQL answers asynchronously. So a batch is
/// aggregated on a copy of the aggregator against the answers fetched so far: a question without an
/// answer is recorded (a miss) and answered with nothing, the copy is thrown away, the misses are
/// fetched, and the batch runs again — until a run asks nothing new. The aggregator is deterministic,
/// so the run that completes is the one the SQLite store would make.
///
/// Readings: the database holds what was stored before the batch (the batch is inserted after it is
/// aggregated); the batch's own readings so far are added here, as SQLite's store sees them having
/// inserted each before aggregating it. Figure rows are the database's: both stores write them after.
final class BatchHistory: FigureHistory {
    struct PointRange: Hashable { var point: Int, from: Int64, to: Int64 }
    struct PointTime: Hashable { var point: Int, time: Int64 }
    struct ScopeQuantity: Hashable { var scope: Scope, quantity: Quantity }

    /// What the database answered, kept across the runs of one batch.
    struct Answers {
        var figures: [FigureKey: FigureValues?] = [:]
        var latestMinutes: [ScopeQuantity: (start: Int64, values: FigureValues)?] = [:]
        var readings: [PointRange: [(time: Int64, value: Double)]] = [:]
        var newest: [Int: Int64?] = [:]
        var neighbours: [PointTime: (previous: (time: Int64, value: Double)?, next: (time: Int64, value: Double)?)] = [:]
    }

    /// Questions the answers did not cover in this run.
    struct Questions {
        var figures: Set<FigureKey> = []
        var latestMinutes: Set<ScopeQuantity> = []
        var readings: Set<PointRange> = []
        var newest: Set<Int> = []
        var neighbours: Set<PointTime> = []
        var isEmpty: Bool { figures.isEmpty && latestMinutes.isEmpty && readings.isEmpty && newest.isEmpty && neighbours.isEmpty }
    }

    let answers: Answers
    private(set) var misses = Questions()
    /// The batch's readings added so far, per point index.
    private var batch: [Int: [(time: Int64, value: Double)]] = [:]

    init(answers: Answers) { self.answers = answers }

    /// Call after the aggregator took `reading`: later questions see it, as stored.
    func added(_ reading: Reading) { batch[reading.point, default: []].append((reading.time, reading.value)) }

    func storedFigure(_ key: FigureKey) -> FigureValues? {
        guard let answer = answers.figures[key] else {
            misses.figures.insert(key)
            return nil
        }
        return answer
    }

    func latestMinute(scope: Scope, quantity: Quantity) -> (start: Int64, values: FigureValues)? {
        let key = ScopeQuantity(scope: scope, quantity: quantity)
        guard let answer = answers.latestMinutes[key] else {
            misses.latestMinutes.insert(key)
            return nil
        }
        return answer
    }

    func counterNeighbours(point: Int, around time: Int64) -> (previous: (time: Int64, value: Double)?, next: (time: Int64, value: Double)?) {
        guard let stored = answers.neighbours[PointTime(point: point, time: time)] else {
            misses.neighbours.insert(PointTime(point: point, time: time))
            return (nil, nil)
        }
        var previous = stored.previous
        var next = stored.next
        for reading in batch[point] ?? [] {
            if reading.time < time, previous.map({ reading.time > $0.time }) ?? true { previous = reading }
            if reading.time > time, next.map({ reading.time < $0.time }) ?? true { next = reading }
        }
        return (previous, next)
    }

    func pointReadings(point: Int, from: Int64, to: Int64, excluding: Int64) -> [Double]? {
        let range = PointRange(point: point, from: from, to: to)
        guard let stored = answers.readings[range] else {
            misses.readings.insert(range)
            return []
        }
        let own = (batch[point] ?? []).filter { $0.time >= from && $0.time < to }
        return (stored + own).filter { $0.time != excluding }.map(\.value)
    }

    func newestPointReading(point: Int, excluding: Int64) -> Int64?? {
        guard let stored = answers.newest[point] else {
            misses.newest.insert(point)
            return .some(nil)
        }
        let own = (batch[point] ?? []).lazy.map(\.time).filter { $0 != excluding }.max()
        let newest = [stored.flatMap { $0 == excluding ? nil : $0 }, own].compactMap { $0 }.max()
        return .some(newest)
    }
}
