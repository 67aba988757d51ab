import Foundation

/// Where window figures are read from when a window is judged: the SQLite store in the daemon, memory
/// in `storey evaluate`. Scopes are indices of the judge's topology.
public protocol WindowFigureSource {
    /// Per scope, its figure rows (one per quantity present) for one window (`windowEnd`, exclusive, in Unix seconds too).
    func figureRows(
        of scopes: [Scope], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64
    ) throws -> [[(Quantity, FigureValues)]]
    /// Per point, the number of readings it delivered in one window (`windowEnd`, exclusive, in Unix seconds too).
    func pointReadings(of points: [Int], resolution: Resolution, windowStart: Int64, windowEnd: Int64) throws -> [Int]
}

/// Turns one closed window of one building into observations for the rules that watch it: its figures,
/// which inputs had gaps, design capacity, baselines and targets. The same code judges live (the
/// daemon's `UnderuseMonitor`) and recorded data (`storey evaluate`), so both say the same thing.
public struct WindowJudge: Sendable {
    public let topology: Topology
    public let workingTimes: WorkingTimeTable
    public let coverage: WindowCoverage
    public let baseline: Baseline
    private var aligners: [WindowAligner]
    private var members: [LocalDate: ScopeMembers] = [:]
    private var sampleHoursCache: (key: SampleHoursKey, hours: [Int64])?

    private struct SampleHoursKey: Equatable {
        var building: Int
        var hourStart: Int64
    }

    public init(topology: Topology, workingTimes: WorkingTimeTable, coverage: WindowCoverage, baseline: Baseline) {
        self.topology = topology
        self.workingTimes = workingTimes
        self.coverage = coverage
        self.baseline = baseline
        self.aligners = topology.buildings.map { WindowAligner(timeZone: $0.timeZone) }
    }

    /// The start (Unix seconds) of the building's window of `resolution` holding `milliseconds`.
    public mutating func windowStart(building: Int, resolution: Resolution, at milliseconds: Int64) -> Int64 {
        aligners[building].windows(at: milliseconds)[resolution]
    }

    /// The end (Unix seconds, exclusive) of a window.
    public func windowEnd(_ window: BuildingWindow) -> Int64 {
        aligners[window.building].windowEnd(window.resolution, start: window.start)
    }

    /// Judges every scope of the building that some rule watches at the window's resolution.
    /// `now` is the wall clock when it differs from the window's time (reminders count from it).
    public mutating func judge(
        _ window: BuildingWindow, evaluator: inout UnderuseEvaluator, source: some WindowFigureSource, now: Int64? = nil
    ) throws -> [AlertAction] {
        let watched = evaluator.watchedScopes(at: window.resolution).filter {
            topology.buildingIndex(of: $0.scope) == window.building
        }
        guard !watched.isEmpty else { return [] }
        let end = windowEnd(window)
        let day = aligners[window.building].windows(at: window.start * 1000).localDate
        if members[day] == nil {
            if members.count > 3 { members.removeAll() }
            members[day] = ScopeMembers(topology, on: day)
        }
        let members = self.members[day]!
        let building = topology.buildings[window.building]

        let rows = try source.figureRows(
            of: watched.map(\.scope), quantities: Quantity.allCases, resolution: window.resolution, windowStart: window.start, windowEnd: end)
        var pointSet = Set<Int>()
        for entry in watched { pointSet.formUnion(members.points(of: entry.scope)) }
        let points = pointSet.sorted()
        let counts = try source.pointReadings(of: points, resolution: window.resolution, windowStart: window.start, windowEnd: end)
        let readings = Dictionary(uniqueKeysWithValues: zip(points, counts))

        var actions: [AlertAction] = []
        for (entry, scopeRows) in zip(watched, rows) {
            let scope = entry.scope
            let figures = WindowFigures(
                windowStart: window.start, rows: scopeRows, leasedArea: topology.densityArea(of: scope, on: day),
                landAreaMu: scope.kind == .building ? building.landAreaMu : nil)
            let missing = coverage.missing(
                entry.quantities, points: members.points(of: scope), in: topology, start: window.start * 1000, end: end * 1000,
                readings: { readings[$0] ?? 0 })
            var observation = WindowObservation(
                scope: scope, resolution: window.resolution, start: window.start * 1000, end: end * 1000, figures: figures,
                missing: missing, designCapacity: topology.designCapacity(of: scope, on: day))
            if scope.kind == .tenant, window.resolution == .month {
                observation.monthlyTarget = topology.tenants[scope.index].targets.outputPerSquareMetrePerMonth
            }
            if !entry.baselineMetrics.isEmpty, window.resolution == .hour {
                observation.baselines = try baselines(for: entry.baselineMetrics, scope: scope, hourStart: window.start, source: source)
            }
            actions += evaluator.windowChanged(observation, now: now)
        }
        return actions
    }

    /// The scope's usual level for this hour of the week, per metric, from the same hour of past weeks.
    private mutating func baselines(
        for metrics: Set<RuleMetric>, scope: Scope, hourStart: Int64, source: some WindowFigureSource
    ) throws -> [RuleMetric: BaselineLevel] {
        guard let buildingIndex = topology.buildingIndex(of: scope) else { return [:] }
        let timeZone = topology.buildings[buildingIndex].timeZone
        let calendar = workingTimes.calendars[buildingIndex] ?? .none
        let quantities = Array(Set(metrics.flatMap(\.quantities)))
        var samples: [(start: Int64, rows: [(Quantity, FigureValues)])] = []
        // The same hours serve every scope of the building: worked out once per window.
        let key = SampleHoursKey(building: buildingIndex, hourStart: hourStart)
        if sampleHoursCache?.key != key {
            sampleHoursCache = (key, baseline.sampleHours(forHourStarting: hourStart * 1000, timeZone: timeZone, calendar: calendar))
        }
        for start in sampleHoursCache!.hours {
            let rows = try source.figureRows(of: [scope], quantities: quantities, resolution: .hour, windowStart: start / 1000, windowEnd: start / 1000 + 3600)[0]
            if !rows.isEmpty { samples.append((start, rows)) }
        }
        var levels: [RuleMetric: BaselineLevel] = [:]
        for metric in metrics {
            var history: [HourlyValue] = []
            for sample in samples {
                // (Arithmetic, not the aligner: samples are weeks apart, past its cache.)
                let day = LocalInstant(milliseconds: sample.start, in: timeZone).date
                let observation = WindowObservation(
                    scope: scope, resolution: .hour, start: sample.start, end: sample.start + 3_600_000,
                    figures: WindowFigures(windowStart: sample.start / 1000, rows: sample.rows, leasedArea: topology.densityArea(of: scope, on: day)),
                    designCapacity: topology.designCapacity(of: scope, on: day))
                if let value = metric.value(in: observation) { history.append(HourlyValue(start: sample.start, value: value)) }
            }
            levels[metric] = baseline.level(forHourStarting: hourStart * 1000, history: history, timeZone: timeZone, calendar: calendar)
        }
        return levels
    }
}
