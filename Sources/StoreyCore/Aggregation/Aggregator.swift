/// What the aggregator needs from storage on its rare paths: after a restart, and for readings that arrive
/// out of order. Kept as a protocol so the aggregation stays pure and is tested without a database.
public protocol FigureHistory {
    /// The stored figure row, if any (minute rows only are asked for).
    func storedFigure(_ key: FigureKey) -> FigureValues?
    /// The newest stored minute row of a scope and quantity, if any.
    func latestMinute(scope: Scope, quantity: Quantity) -> (start: Int64, values: FigureValues)?
    /// The stored counter readings of `point` just before and just after `time` (exclusive).
    func counterNeighbours(point: Int, around time: Int64) -> (previous: (time: Int64, value: Double)?, next: (time: Int64, value: Double)?)
    /// For a store that keeps no minute rows of points (the SQLite store: at a reading a minute they were
    /// the raw readings written twice): the stored readings of `point` with `from ≤ time < to`, the one at
    /// `excluding` left out (it is the reading being added, stored just before). Nil: ask the rows.
    func pointReadings(point: Int, from: Int64, to: Int64, excluding: Int64) -> [Double]?
    /// Such a store's newest stored reading time of `point` other than `excluding`; `.some(nil)` if none.
    func newestPointReading(point: Int, excluding: Int64) -> Int64??
}

extension FigureHistory {
    public func pointReadings(point: Int, from: Int64, to: Int64, excluding: Int64) -> [Double]? { nil }
    public func newestPointReading(point: Int, excluding: Int64) -> Int64?? { nil }
}

/// Turns accepted readings into figure contributions per point, space, tenant, floor and building, in
/// minute, hour, day and month windows of each building's local time.
///
/// The aggregator is fed only readings that storage accepted as new (a duplicate never reaches it), and
/// it keeps only caches: every figure it produces is a delta that storage adds to what it has. So a
/// restart, a reading out of order, or a reading for a closed window all come out right, at the cost of
/// a lookup through `FigureHistory` when the cache does not hold what is needed.
public struct Aggregator: Sendable {
    public private(set) var topology: Topology
    private var aligners: [WindowAligner]
    /// Per point: its latest counter reading (counters), or its current minute (gauges).
    private var lastCounter: [(time: Int64, value: Double)?]
    private var pointMinute: [MinuteState?]
    /// Per scope above the point and gauge quantity: the current minute's level.
    private var scopeMinute: ScopeMinutes
    /// Minute contributions since the last `takePending()`, with the coarser windows they roll up into.
    private var pending: [FigureKey: PendingMinute] = [:]
    /// How many minute rows of figures wait to be taken: storage takes them before they grow large.
    public var pendingCount: Int { pending.count }
    private var counterEvents: [CounterEvent: Int] = [:]

    fileprivate struct MinuteState {
        var start: Int64
        var sampleSum: Double = 0
        var sampleCount: Int = 0
        var level: Double = 0
        var hasData = false
    }

    private struct PendingMinute {
        var values = FigureValues()
        var starts: WindowStarts
    }

    public init(topology: Topology) {
        self.topology = topology
        self.aligners = topology.buildings.map { WindowAligner(timeZone: $0.timeZone) }
        self.lastCounter = Array(repeating: nil, count: topology.points.count)
        self.pointMinute = Array(repeating: nil, count: topology.points.count)
        self.scopeMinute = ScopeMinutes(topology: topology)
    }

    /// Adopts a reloaded topology. Caches are dropped (they are rebuilt from storage on demand); pending
    /// contributions must have been taken first, since point indices change.
    public mutating func replaceTopology(_ topology: Topology) {
        precondition(pending.isEmpty, "take pending figures before replacing the topology")
        self = Aggregator(topology: topology)
    }

    /// Adds one reading that storage has just accepted as new.
    public mutating func add(_ reading: Reading, history: some FigureHistory) {
        let point = topology.points[reading.point]
        let starts = aligners[point.buildingIndex].windows(at: reading.time)
        let scopes = self.scopes(of: reading.point, point: point, on: starts.localDate)
        if point.quantity.isCounter {
            addCounter(reading, point: point, starts: starts, scopes: scopes, history: history)
        } else {
            addGauge(reading, point: point, starts: starts, scopes: scopes, history: history)
        }
    }

    /// The point and every scope above it on that local date: space, the tenant leasing it, floor, building.
    private func scopes(of index: Int, point: Point, on day: LocalDate) -> [Scope] {
        var scopes = [Scope(.point, index)]
        if let space = point.spaceIndex {
            scopes.append(Scope(.space, space))
            if let tenant = topology.tenantIndex(ofSpace: space, on: day) {
                scopes.append(Scope(.tenant, tenant))
            }
        }
        scopes.append(Scope(.floor, point.floorIndex))
        scopes.append(Scope(.building, point.buildingIndex))
        return scopes
    }

    private mutating func addCounter(_ reading: Reading, point: Point, starts: WindowStarts, scopes: [Scope], history: some FigureHistory) {
        let current = (time: reading.time, value: reading.value)
        if let last = lastCounter[reading.point], last.time < reading.time {
            // The common case: the next reading in time order.
            credit(increase(from: last, to: current, point: point), at: starts, scopes: scopes, quantity: point.quantity)
            lastCounter[reading.point] = current
            return
        }
        // After a restart, or out of order: ask storage for the neighbours. A reading with no earlier one
        // anchors the counter and counts nothing.
        let neighbours = history.counterNeighbours(point: reading.point, around: reading.time)
        let amount = neighbours.previous.map { increase(from: $0, to: current, point: point) } ?? 0
        credit(amount, at: starts, scopes: scopes, quantity: point.quantity)
        if let next = neighbours.next {
            // The interval previous→next was credited to next's window; it is now previous→this→next.
            let before = neighbours.previous.map { increase(from: $0, to: next, point: point) } ?? 0
            let after = increase(from: current, to: next, point: point)
            if after != before {
                let nextStarts = aligners[point.buildingIndex].windows(at: next.time)
                let nextScopes = self.scopes(of: reading.point, point: point, on: nextStarts.localDate)
                credit(after - before, at: nextStarts, scopes: nextScopes, quantity: point.quantity, counting: false)
            }
        } else {
            lastCounter[reading.point] = current
        }
    }

    private mutating func increase(from previous: (time: Int64, value: Double), to current: (time: Int64, value: Double), point: Point) -> Double {
        let result = counterIncrease(from: previous, to: current, rollover: point.rollover, maximumPerHour: point.maximum)
        if result.event != .increase { counterEvents[result.event, default: 0] += 1 }
        return result.amount
    }

    private mutating func credit(_ amount: Double, at starts: WindowStarts, scopes: [Scope], quantity: Quantity, counting: Bool = true) {
        for scope in scopes {
            let key = FigureKey(scope: scope, quantity: quantity, resolution: .minute, windowStart: starts.minute)
            pending[key, default: PendingMinute(starts: starts)].values.amount += amount
            if counting { pending[key]!.values.readings += 1 }
        }
    }

    private mutating func addGauge(_ reading: Reading, point: Point, starts: WindowStarts, scopes: [Scope], history: some FigureHistory) {
        let quantity = point.quantity
        // The point's own minute: its mean moves, and every scope above moves by the same amount.
        let pointKey = FigureKey(scope: scopes[0], quantity: quantity, resolution: .minute, windowStart: starts.minute)
        if pointMinute[reading.point] == nil {
            pointMinute[reading.point] = newestPointMinute(reading, point: point, history: history)
        }
        var minute = minuteState(for: pointKey, cached: pointMinute[reading.point], adding: reading, history: history)
        let oldMean = minute.sampleCount > 0 ? minute.sampleSum / Double(minute.sampleCount) : 0
        minute.sampleSum += reading.value
        minute.sampleCount += 1
        let newMean = minute.sampleSum / Double(minute.sampleCount)
        let firstSample = minute.sampleCount == 1
        minute.level = newMean
        minute.hasData = true
        if pointMinute[reading.point]!.start <= starts.minute {
            pointMinute[reading.point] = minute
        }
        let change = newMean - oldMean

        var pointValues = FigureValues()
        pointValues.sampleSum = reading.value
        pointValues.sampleCount = 1
        pointValues.sampleMax = reading.value
        pointValues.levelSum = change
        pointValues.levelMinutes = firstSample ? 1 : 0
        pointValues.levelPeak = newMean
        pointValues.readings = 1
        pending[pointKey, default: PendingMinute(starts: starts)].values.merge(pointValues)

        for scope in scopes.dropFirst() {
            let key = FigureKey(scope: scope, quantity: quantity, resolution: .minute, windowStart: starts.minute)
            let slot = scopeMinute.slot(scope, quantity)
            let cached = scopeMinute.states[slot] ?? newestMinute(scope: scope, quantity: quantity, history: history)
            var state = minuteState(for: key, cached: cached, history: history)
            let first = !state.hasData
            state.level += change
            state.hasData = true
            scopeMinute.states[slot] = cached.start <= starts.minute ? state : cached
            var values = FigureValues()
            values.sampleMax = reading.value
            values.levelSum = change
            values.levelMinutes = first ? 1 : 0
            values.levelPeak = state.level
            values.readings = 1
            pending[key, default: PendingMinute(starts: starts)].values.merge(values)
        }
    }

    /// The newest minute of a point before `reading` came, becoming its cache entry: from the rows, or
    /// from the readings of a store that keeps no point minute rows.
    private mutating func newestPointMinute(_ reading: Reading, point: Point, history: some FigureHistory) -> MinuteState {
        guard let newest = history.newestPointReading(point: reading.point, excluding: reading.time) else {
            return newestMinute(scope: Scope(.point, reading.point), quantity: point.quantity, history: history)
        }
        guard let newest else { return MinuteState(start: .min) }
        let start = aligners[point.buildingIndex].windows(at: newest).minute
        return minuteFromReadings(reading, point: point, start: start, history: history) ?? MinuteState(start: .min)
    }

    /// A point's minute rebuilt from its stored readings, for stores that keep no point minute rows.
    private func minuteFromReadings(_ reading: Reading, point: Point, start: Int64, history: some FigureHistory) -> MinuteState? {
        guard let values = history.pointReadings(point: reading.point, from: start * 1000, to: (start + 60) * 1000, excluding: reading.time) else {
            return nil
        }
        guard !values.isEmpty else { return MinuteState(start: start) }
        let sum = values.reduce(0, +)
        return MinuteState(start: start, sampleSum: sum, sampleCount: values.count, level: sum / Double(values.count), hasData: true)
    }

    /// The newest minute storage holds for a scope, becoming its cache entry (an empty one at the
    /// beginning of time when there is none). Asked once per scope and process.
    private func newestMinute(scope: Scope, quantity: Quantity, history: some FigureHistory) -> MinuteState {
        guard let latest = history.latestMinute(scope: scope, quantity: quantity) else {
            return MinuteState(start: .min)
        }
        return MinuteState(
            start: latest.start, sampleSum: latest.values.sampleSum, sampleCount: latest.values.sampleCount,
            level: latest.values.levelSum, hasData: latest.values.levelMinutes > 0)
    }

    /// The state of the reading's minute. The cache holds the newest minute with data, so a later minute
    /// is known to be empty without asking storage: in-order intake never waits on a lookup.
    /// For the point's own minute (`adding` the reading on its way in), an older minute is rebuilt from the
    /// point's stored readings where storage keeps no point minute rows: those readings, this batch's
    /// before this one included, are its state (so the pending contributions are not added again).
    /// (Mutating only so that the call borrows `self`: called as a plain method from `addGauge`, the whole
    /// aggregator was copied and released for every reading, 2–3 % of the writer's time.)
    private mutating func minuteState(for key: FigureKey, cached: MinuteState?, adding reading: Reading? = nil, history: some FigureHistory) -> MinuteState {
        if let cached {
            if cached.start == key.windowStart { return cached }
            if cached.start < key.windowStart { return MinuteState(start: key.windowStart) }
        }
        if let reading, let rebuilt = minuteFromReadings(reading, point: topology.points[reading.point], start: key.windowStart, history: history) {
            return rebuilt
        }
        return storedMinuteState(for: key, history: history)
    }

    /// A minute older than the newest: what storage and the pending contributions know of it.
    private func storedMinuteState(for key: FigureKey, history: some FigureHistory) -> MinuteState {
        var values = history.storedFigure(key) ?? FigureValues()
        if let unsaved = pending[key] { values.merge(unsaved.values) }
        return MinuteState(
            start: key.windowStart, sampleSum: values.sampleSum, sampleCount: values.sampleCount,
            level: values.levelSum, hasData: values.levelMinutes > 0)
    }

    /// The contributions since the last call, minute rows and the hour, day and month rows they roll up
    /// into; storage adds them to its rows in the same transaction as the readings that caused them.
    /// `coarser` limits the windows built above the minute (offline evaluation needs only what its rules read).
    /// `foldedBefore`: for a store that adds an hour to its day and month only once the hour has closed (the
    /// SQLite store, ReadingStore+Folding.swift), minutes of hours starting at or after it roll into their hour only.
    public mutating func takePending(coarser: [Resolution] = [.hour, .day, .month], foldedBefore: Int64? = nil) -> [FigureKey: FigureValues] {
        var figures: [FigureKey: FigureValues] = [:]
        takePending(coarser: coarser, foldedBefore: foldedBefore, into: &figures)
        return figures
    }

    /// The same, into a table the caller keeps from batch to batch (emptied first, its capacity kept): a
    /// new table each batch was a fresh mapping of memory, and its page faults 5 % of a drain's writer.
    public mutating func takePending(coarser: [Resolution] = [.hour, .day, .month], foldedBefore: Int64? = nil, into figures: inout [FigureKey: FigureValues]) {
        figures.removeAll(keepingCapacity: true)
        figures.reserveCapacity(pending.count * (coarser.count + 1))
        takePending(coarser: coarser, foldedBefore: foldedBefore) { key, values in figures[key, default: FigureValues()].merge(values) }
    }

    /// The same, handed to `each` one contribution at a time, unmerged: each minute row once, and each coarser
    /// row once for every minute that rolls into it (the caller adds them up; the SQLite store sorts them, which
    /// it does anyway for its B-tree, and so needs no table of its own).
    public mutating func takePending(coarser: [Resolution] = [.hour, .day, .month], foldedBefore: Int64? = nil, each: (FigureKey, FigureValues) -> Void) {
        for (key, minute) in pending {
            each(key, minute.values)
            let hourOnly = foldedBefore.map { minute.starts.hour >= $0 } ?? false
            for resolution in coarser where !hourOnly || resolution == .hour {
                var coarse = key
                coarse.resolution = resolution
                coarse.windowStart = minute.starts[resolution]
                each(coarse, minute.values)
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Rollovers, resets and jumps seen since the last call.
    public mutating func takeCounterEvents() -> [CounterEvent: Int] {
        defer { counterEvents.removeAll() }
        return counterEvents
    }

    /// Forgets unsaved contributions and caches, after storage failed to commit them (they are rebuilt from
    /// storage when the same readings are offered again).
    public mutating func discardPending() {
        self = Aggregator(topology: topology)
    }
}

/// The aggregator's newest minute of every scope above the point (space, tenant, floor, building) and gauge
/// quantity, in one array: slot `base(kind) + index × 3 + gauge`. A dictionary keyed by scope and quantity
/// held the same states in 12.6 MB over 100,000 points (heaptrack, benchmarks/README.md); this is 3.3 MB, and
/// finds a state without hashing.
private struct ScopeMinutes {
    /// nil: storage not asked yet for that scope and quantity.
    var states: [Aggregator.MinuteState?]
    private let spaceBase: Int
    private let tenantBase: Int
    private let floorBase: Int
    private let buildingBase: Int

    init(topology: Topology) {
        spaceBase = 0
        tenantBase = spaceBase + topology.spaces.count * 3
        floorBase = tenantBase + topology.tenants.count * 3
        buildingBase = floorBase + topology.floors.count * 3
        states = Array(repeating: nil, count: buildingBase + topology.buildings.count * 3)
    }

    func slot(_ scope: Scope, _ quantity: Quantity) -> Int {
        let gauge = switch quantity {
        case .power: 0
        case .occupancy: 1
        case .presence: 2
        case .energy, .water, .gas, .output: preconditionFailure("only gauges keep a minute level: \(quantity)")
        }
        let base = switch scope.kind {
        case .space: spaceBase
        case .tenant: tenantBase
        case .floor: floorBase
        case .building: buildingBase
        case .point: preconditionFailure("a point's minute is kept per point")
        }
        return base + scope.index * 3 + gauge
    }
}
