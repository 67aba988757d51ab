/// Figures kept in memory, for judging recorded data offline (`storey evaluate`): the aggregator's
/// history and the judge's figure source in one, with the same merge rules as the SQLite store.
public final class MemoryFigures: FigureHistory, WindowFigureSource {
    private var figures: [FigureKey: FigureValues] = [:]
    /// Per scope and quantity, its newest minute row (start and values).
    private var latest: [ScopeQuantity: (start: Int64, values: FigureValues)] = [:]
    /// Per point, its readings in time order (recorded data mostly arrives in order).
    private var readings: [Int: [(time: Int64, value: Double)]] = [:]

    private struct ScopeQuantity: Hashable {
        var scope: Scope
        var quantity: Quantity
    }

    private let pointQuantities: [Quantity]
    /// Whether minute rows are kept beyond each scope's newest. Readings fed in time order never need
    /// older ones, and minute rows are most of the rows: an offline evaluation of hour, day and month
    /// rules leaves them out.
    private let keepsMinutes: Bool

    /// The windows above the minute that are kept.
    private let coarser: [Resolution]

    public init(topology: Topology, keepsMinutes: Bool = true, coarser: Set<Resolution> = [.hour, .day, .month]) {
        pointQuantities = topology.points.map(\.quantity)
        self.keepsMinutes = keepsMinutes
        self.coarser = [Resolution.hour, .day, .month].filter(coarser.contains)
    }

    /// Makes room for about `count` figure rows at once (growing a dictionary of hundreds of thousands
    /// of rows step by step costs more than the aggregation).
    public func reserve(_ count: Int) {
        figures.reserveCapacity(count)
    }

    /// Adds readings the way the store does: a reading already held (same point and time) is dropped,
    /// the rest are aggregated and their figures merged. Returns how many were new.
    @discardableResult
    public func ingest(_ batch: [Reading], into aggregator: inout Aggregator) -> Int {
        var stored = 0
        for reading in batch {
            // In place (no copy of the point's list): appended in the usual in-order case.
            let index = readings[reading.point, default: []].insertionIndex { $0.time < reading.time }
            if let existing = readings[reading.point]?[safe: index], existing.time == reading.time { continue }
            readings[reading.point, default: []].insert((reading.time, reading.value), at: index)
            aggregator.add(reading, history: self)
            stored += 1
        }
        for (key, values) in aggregator.takePending(coarser: coarser) {
            guard key.resolution == .minute else {
                figures[key, default: FigureValues()].merge(values)
                continue
            }
            if keepsMinutes { figures[key, default: FigureValues()].merge(values) }
            let slot = ScopeQuantity(scope: key.scope, quantity: key.quantity)
            switch latest[slot] {
            case let newest? where newest.start == key.windowStart: latest[slot]!.values.merge(values)
            case let newest? where newest.start > key.windowStart: break
            default: latest[slot] = (key.windowStart, values)
            }
        }
        return stored
    }

    public func figure(_ key: FigureKey) -> FigureValues? { figures[key] }

    // MARK: FigureHistory

    public func storedFigure(_ key: FigureKey) -> FigureValues? {
        if key.resolution == .minute, let newest = latest[ScopeQuantity(scope: key.scope, quantity: key.quantity)], newest.start == key.windowStart {
            return newest.values
        }
        return figures[key]
    }

    public func latestMinute(scope: Scope, quantity: Quantity) -> (start: Int64, values: FigureValues)? {
        latest[ScopeQuantity(scope: scope, quantity: quantity)]
    }

    public func counterNeighbours(point: Int, around time: Int64) -> (previous: (time: Int64, value: Double)?, next: (time: Int64, value: Double)?) {
        guard let list = readings[point] else { return (nil, nil) }
        let index = list.insertionIndex { $0.time < time }
        let previous = index > 0 ? list[index - 1] : nil
        var next = index < list.count ? list[index] : nil
        if next?.time == time { next = index + 1 < list.count ? list[index + 1] : nil }
        return (previous, next)
    }

    // MARK: WindowFigureSource

    public func figureRows(
        of scopes: [Scope], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64
    ) -> [[(Quantity, FigureValues)]] {
        scopes.map { scope in
            quantities.compactMap { quantity in
                figures[FigureKey(scope: scope, quantity: quantity, resolution: resolution, windowStart: windowStart)].map { (quantity, $0) }
            }
        }
    }

    public func pointReadings(of points: [Int], resolution: Resolution, windowStart: Int64, windowEnd: Int64) -> [Int] {
        points.map { figures[FigureKey(scope: Scope(.point, $0), quantity: pointQuantities[$0], resolution: resolution, windowStart: windowStart)]?.readings ?? 0 }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }

    /// The first index whose element is not `before` (binary search over a sorted array).
    func insertionIndex(where before: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if before(self[middle]) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
