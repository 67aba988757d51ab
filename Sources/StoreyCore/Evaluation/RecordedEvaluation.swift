/// Judges recorded readings offline, with the daemon's own aggregation, judge and alert state machines,
/// and time taken from the data: what Storey would have said, window by window (`storey evaluate`).
public struct RecordedEvaluation {
    public private(set) var evaluator: UnderuseEvaluator
    private var judge: WindowJudge
    private var aggregator: Aggregator
    private let figures: MemoryFigures
    private let topology: Topology

    public init(
        rules: [UnderuseRule], topology: Topology, workingTimes: WorkingTimeTable, coverage: WindowCoverage = WindowCoverage(),
        baseline: Baseline = Baseline(), flapPeriod: Int64 = 3_600_000, repeatInterval: Int64? = nil
    ) {
        self.topology = topology
        evaluator = UnderuseEvaluator(
            rules: rules, topology: topology, workingTimes: workingTimes, flapPeriod: flapPeriod, repeatInterval: repeatInterval)
        judge = WindowJudge(topology: topology, workingTimes: workingTimes, coverage: coverage, baseline: baseline)
        aggregator = Aggregator(topology: topology)
        // Only the windows the rules judge are built, plus hours (baselines learn from them) and months
        // (the recording's summary); minute rows only if some rule judges minutes.
        let judged = Set(rules.filter { !$0.isSilentPointRule }.map(\.window))
        figures = MemoryFigures(
            topology: topology, keepsMinutes: judged.contains(.minute), coarser: judged.union([.hour, .month]))
    }

    /// The figures the readings made, for reports on the same run.
    public func figure(_ key: FigureKey) -> FigureValues? { figures.figure(key) }

    /// Aggregates `readings` (any order) and judges every window from the first reading's to the last's,
    /// oldest first; silent points are checked at the end of each judged window. Returns every action
    /// in order.
    public mutating func run(_ readings: [Reading]) throws -> [AlertAction] {
        guard let first = readings.min(by: { $0.time < $1.time })?.time,
            let last = readings.max(by: { $0.time < $1.time })?.time
        else { return [] }
        let sorted = readings.sorted { $0.time < $1.time }
        // Each reading touches up to five scopes in four window sizes; most rows are shared.
        figures.reserve(min(sorted.count * 4, 20_000_000))
        var index = 0
        while index < sorted.count {
            let end = min(index + 10_000, sorted.count)
            figures.ingest(Array(sorted[index..<end]), into: &aggregator)
            index = end
        }

        var windows: [BuildingWindow] = []
        for building in topology.buildings.indices {
            for resolution in evaluator.resolutions {
                var start = judge.windowStart(building: building, resolution: resolution, at: first)
                while start * 1000 <= last {
                    let window = BuildingWindow(building: building, resolution: resolution, start: start)
                    windows.append(window)
                    start = judge.windowEnd(window)
                }
            }
        }
        windows.sort { ($0.start, $0.resolution.order) < ($1.start, $1.resolution.order) }

        let watchedPoints = evaluator.watchedPoints
        var actions: [AlertAction] = []
        for window in windows {
            actions += try judge.judge(window, evaluator: &evaluator, source: figures)
            let end = judge.windowEnd(window) * 1000
            for point in watchedPoints {
                let lastReading = figures.counterNeighbours(point: point, around: end).previous?.time
                actions += evaluator.pointChecked(
                    point: point, lastReading: lastReading, expectedInterval: topology.points[point].expectedInterval,
                    watchedSince: first, now: end)
            }
            actions += evaluator.tick(now: end)
        }
        return actions
    }
}

extension Resolution {
    /// Finer first: an hour is judged before the day that holds it.
    public var order: Int { Int(ordinal) }
}
