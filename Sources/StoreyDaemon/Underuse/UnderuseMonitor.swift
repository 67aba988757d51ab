import Foundation
import Logging
import ServiceLifecycle
import StoreyConfig
import StoreyCore
import StoreyStore
import Synchronization

/// Judges underuse as windows close: figures → observations → the evaluator's alert state machines →
/// alert state, history and outbox, committed together.
///
/// A building's window is judged once it has ended and its late-readings grace has passed (with or
/// without data: a window without data is "no data", never underuse). A window that receives readings
/// after that — a broker queue delivered after an outage — is judged again once it is quiet; an alert
/// counts each span once, so judging again only adds what was not yet seen. Silent points are checked
/// every tick. Nothing is judged before intake has caught up after start, so readings queued during
/// downtime are in the figures before the windows they belong to are judged.
public final class UnderuseMonitor: Service, Sendable {
    private let store: ReadingStore
    private let alerts: AlertStore
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let caughtUp: @Sendable () -> Bool
    private let state: Mutex<State>
    /// Windows that received readings since the last tick, noted on the storing task.
    private let touched = Mutex<Set<BuildingWindow>>([])
    private let outboxObservers = Mutex<[@Sendable () -> Void]>([])

    struct State: @unchecked Sendable {
        // @unchecked: WindowAligner holds a Calendar; all of State is only used under the Mutex.
        var configuration: Configuration
        var evaluator: UnderuseEvaluator
        var aligners: [WindowAligner]
        var progress: [String: Int64]
        /// Windows that changed in the previous tick: judged when a tick passes without more readings.
        var settling: Set<BuildingWindow> = []
        var startedAt: Int64
        var isCaughtUp = false
        var members: [LocalDate: ScopeMembers] = [:]
    }

    public init(
        configuration: Configuration, store: ReadingStore, logger: Logger,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
        caughtUp: @escaping @Sendable () -> Bool
    ) throws {
        self.store = store
        self.alerts = AlertStore(store)
        self.logger = logger
        self.now = now
        self.caughtUp = caughtUp
        var evaluator = Self.evaluator(for: configuration)
        let orphans = evaluator.restore(try alerts.loadAlerts())
        let time = now()
        for silence in try alerts.loadSilences() where silence.end > time {
            _ = evaluator.addSilence(silence, now: time)
        }
        if !orphans.isEmpty {
            logger.notice("alerts of rules or scopes no longer configured are kept but not judged", metadata: ["alerts": "\(orphans.count)"])
        }
        state = Mutex(State(
            configuration: configuration, evaluator: evaluator,
            aligners: configuration.topology.buildings.map { WindowAligner(timeZone: $0.timeZone) },
            progress: try alerts.progress(), startedAt: time))
    }

    static func evaluator(for configuration: Configuration) -> UnderuseEvaluator {
        UnderuseEvaluator(
            rules: configuration.rules, topology: configuration.topology, workingTimes: configuration.workingTimes,
            flapPeriod: Int64(configuration.alerting.flapPeriod * 1000),
            repeatInterval: configuration.alerting.repeatInterval.map { Int64($0 * 1000) })
    }

    /// Called by the intake pipeline after each stored batch.
    public func stored(_ result: IngestResult) {
        guard !result.windows.isEmpty else { return }
        touched.withLock { $0.formUnion(result.windows) }
    }

    /// Calls `observer` after outbox rows were committed (delivery wakes up).
    public func onOutboxChanged(_ observer: @escaping @Sendable () -> Void) {
        outboxObservers.withLock { $0.append(observer) }
    }

    /// Adopts a reloaded configuration: the same alerts (by fingerprint) go on under the new rules.
    public func apply(_ configuration: Configuration) {
        state.withLock { state in
            var evaluator = Self.evaluator(for: configuration)
            evaluator.restore(Array(state.evaluator.alerts.values))
            let time = now()
            for silence in state.evaluator.silences { _ = evaluator.addSilence(silence, now: time) }
            state.evaluator = evaluator
            state.configuration = configuration
            state.aligners = configuration.topology.buildings.map { WindowAligner(timeZone: $0.timeZone) }
            state.members = [:]
        }
    }

    public func run() async throws {
        let interval = state.withLock { $0.configuration.alerting.evaluateEvery }
        while !Task.isShuttingDownGracefully {
            do {
                try tick()
            } catch {
                logger.error("cannot judge underuse this tick; will retry", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(interval))
        }
    }

    // MARK: Operators' actions

    /// Acknowledges a firing alert; returns false when no firing alert has that fingerprint.
    public func acknowledge(_ fingerprint: String, by: String, comment: String) throws -> Bool {
        try change { state, time in
            let key = AlertFingerprint(value: fingerprint)
            let actions = state.evaluator.acknowledge(key, Acknowledgement(by: by, at: time, comment: comment))
            return (actions, [], [])
        } > 0
    }

    public func addSilence(_ silence: Silence) throws {
        _ = try change { state, time in (state.evaluator.addSilence(silence, now: time), [silence], []) }
    }

    public func expireSilence(id: String) throws {
        _ = try change { state, time in (state.evaluator.removeSilence(id: id, now: time), [], [id]) }
    }

    /// Applies an operator's change and commits it with the transitions it causes; returns how many
    /// transitions or notifications it made.
    private func change(_ body: (inout State, Int64) -> ([AlertAction], [Silence], [String])) throws -> Int {
        let (count, notified) = try state.withLock { state in
            let time = now()
            let before = state.evaluator.alerts
            let (actions, saved, removed) = body(&state, time)
            let notified = try alerts.commit(
                alerts: Self.changed(before, state.evaluator.alerts), actions: actions,
                places: { [topology = state.configuration.topology] in Self.place(of: $0.scope, at: $0.time, in: topology) },
                silencesSaved: saved, silencesRemoved: removed, now: time)
            return (actions.count, notified)
        }
        if notified > 0 { for observer in outboxObservers.withLock({ $0 }) { observer() } }
        return count
    }

    // MARK: The tick

    /// One evaluation: windows that closed, windows that settled after late readings, silent points,
    /// then time-driven changes (silences, reminders, flapping). Public for tests with an injected clock.
    public func tick() throws {
        let notified = try state.withLock { state -> Int in
            let time = now()
            if !state.isCaughtUp {
                guard caughtUp() else { return 0 }
                state.isCaughtUp = true
            }
            let before = state.evaluator.alerts
            var actions: [AlertAction] = []
            let grace = Int64(state.configuration.alerting.lateReadingsGrace * 1000)

            // Windows that received readings: judged one quiet tick later, oldest first.
            let changed = touched.withLock { touched in
                defer { touched.removeAll() }
                return touched
            }
            // (Windows still open are the clock's to judge.)
            let changedClosed = changed.filter { window in
                state.aligners[window.building].windowEnd(window.resolution, start: window.start) * 1000 + grace <= time
            }
            var due = state.settling.subtracting(changedClosed)
            state.settling = changedClosed
            // Windows that closed by the clock, since the progress saved.
            var progress: [String: Int64] = [:]
            for building in state.configuration.topology.buildings.indices {
                for resolution in state.evaluator.resolutions {
                    let name = "\(state.configuration.topology.buildings[building].id)/\(resolution.rawValue)"
                    // First run: from the window now open (history before Storey ran is judged only
                    // as readings for it arrive).
                    var start = state.progress[name] ?? state.aligners[building].windows(at: time)[resolution]
                    while state.aligners[building].windowEnd(resolution, start: start) * 1000 + grace <= time {
                        due.insert(BuildingWindow(building: building, resolution: resolution, start: start))
                        start = state.aligners[building].windowEnd(resolution, start: start)
                    }
                    if state.progress[name] != start { progress[name] = start }
                    state.progress[name] = start
                }
            }
            for window in due.sorted(by: { ($0.start, $0.resolution.order) < ($1.start, $1.resolution.order) }) {
                actions += try judge(window, state: &state)
            }
            actions += checkSilentPoints(state: &state, now: time)
            actions += state.evaluator.tick(now: time)

            let changedAlerts = Self.changed(before, state.evaluator.alerts)
            guard !actions.isEmpty || !changedAlerts.isEmpty || !progress.isEmpty else { return 0 }
            let topology = state.configuration.topology
            let notified = try alerts.commit(
                alerts: changedAlerts, actions: actions, places: { Self.place(of: $0.scope, at: $0.time, in: topology) },
                progress: progress, now: time)
            for case .record(let transition) in actions {
                logger.notice("alert \(transition.rule) on \(transition.scope.kind.rawValue) \(transition.scopeID): \(transition.from.rawValue) → \(transition.to.rawValue)", metadata: [
                    "fingerprint": "\(transition.fingerprint)", "reason": "\(transition.reason.code)",
                    "value": "\(transition.values.map { "\($0.value) \($0.unit)" } ?? "-")",
                ])
            }
            return notified
        }
        if notified > 0 { for observer in outboxObservers.withLock({ $0 }) { observer() } }
    }

    /// Judges every watched scope of one building window.
    private func judge(_ window: BuildingWindow, state: inout State) throws -> [AlertAction] {
        let topology = state.configuration.topology
        let watched = state.evaluator.watchedScopes(at: window.resolution).filter {
            topology.buildingIndex(of: $0.scope) == window.building
        }
        guard !watched.isEmpty else { return [] }
        let end = state.aligners[window.building].windowEnd(window.resolution, start: window.start)
        let day = state.aligners[window.building].windows(at: window.start * 1000).localDate
        if state.members[day] == nil {
            if state.members.count > 3 { state.members.removeAll() }
            state.members[day] = ScopeMembers(topology, on: day)
        }
        let members = state.members[day]!
        let building = topology.buildings[window.building]

        let rows = try alerts.figureRows(
            of: watched.map { ($0.scope.kind, topology.scopeID($0.scope)) }, quantities: Quantity.allCases,
            resolution: window.resolution, windowStart: window.start)
        // Readings per point, for the points behind every watched scope.
        var pointSet = Set<Int>()
        for entry in watched { pointSet.formUnion(members.points(of: entry.scope)) }
        let points = pointSet.sorted()
        let counts = try alerts.pointReadings(
            of: points.map { (topology.points[$0].id, topology.points[$0].quantity) }, resolution: window.resolution,
            windowStart: window.start)
        let readings = Dictionary(uniqueKeysWithValues: zip(points, counts))
        let coverage = WindowCoverage(required: state.configuration.alerting.coverage)

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
                observation.baselines = try baselines(
                    for: entry.baselineMetrics, scope: scope, hourStart: window.start, state: state)
            }
            actions += state.evaluator.windowChanged(observation, now: now())
        }
        return actions
    }

    /// The scope's usual level for this hour of the week, per metric, from its stored hour figures.
    private func baselines(
        for metrics: Set<RuleMetric>, scope: Scope, hourStart: Int64, state: State
    ) throws -> [RuleMetric: BaselineLevel] {
        let configuration = state.configuration
        let topology = configuration.topology
        let baseline = Baseline(weeks: configuration.alerting.baselineWeeks, minimumWeeks: configuration.alerting.baselineMinimumWeeks)
        let from = hourStart - Int64(baseline.weeks * 7 + 2) * 86400
        let quantities = Array(Set(metrics.flatMap(\.quantities)))
        let hours = try alerts.hourRows(of: scope.kind, id: topology.scopeID(scope), quantities: quantities, from: from, to: hourStart)
        guard let buildingIndex = topology.buildingIndex(of: scope) else { return [:] }
        let building = topology.buildings[buildingIndex]
        let calendar = configuration.workingTimes.calendars[buildingIndex] ?? .none
        var aligner = state.aligners[buildingIndex]
        var levels: [RuleMetric: BaselineLevel] = [:]
        for metric in metrics {
            var history: [HourlyValue] = []
            for (start, rows) in hours {
                let day = aligner.windows(at: start * 1000).localDate
                let figures = WindowFigures(windowStart: start, rows: rows, leasedArea: topology.densityArea(of: scope, on: day))
                let observation = WindowObservation(
                    scope: scope, resolution: .hour, start: start * 1000, end: (start + 3600) * 1000, figures: figures,
                    designCapacity: topology.designCapacity(of: scope, on: day))
                if let value = metric.value(in: observation) { history.append(HourlyValue(start: start * 1000, value: value)) }
            }
            levels[metric] = baseline.level(
                forHourStarting: hourStart * 1000, history: history, timeZone: building.timeZone, calendar: calendar)
        }
        return levels
    }

    private func checkSilentPoints(state: inout State, now time: Int64) -> [AlertAction] {
        let watched = state.evaluator.watchedPoints
        guard !watched.isEmpty else { return [] }
        let last = store.lastReadingTimes
        let topology = state.configuration.topology
        var actions: [AlertAction] = []
        for point in watched where point < last.count {
            actions += state.evaluator.pointChecked(
                point: point, lastReading: last[point], expectedInterval: topology.points[point].expectedInterval,
                watchedSince: state.startedAt, now: time)
        }
        return actions
    }

    // MARK: Helpers

    /// The alerts whose state differs from before (new ones included): only they are written.
    static func changed(_ before: [UnderuseEvaluator.AlertKey: Alert], _ after: [UnderuseEvaluator.AlertKey: Alert]) -> [Alert] {
        after.compactMap { key, alert in before[key] == alert ? nil : alert }
    }

    /// Where a scope sits, for filtering history by building, floor and tenant.
    static func place(of scope: Scope, at time: Int64, in topology: Topology) -> AlertPlace {
        let building = topology.buildingIndex(of: scope).map { topology.buildings[$0].id }
        switch scope.kind {
        case .building:
            return AlertPlace(building: building)
        case .floor:
            return AlertPlace(building: building, floor: topology.floors[scope.index].id)
        case .tenant:
            return AlertPlace(building: building, tenant: topology.tenants[scope.index].id)
        case .space, .point:
            let space = scope.kind == .space ? scope.index : topology.points[scope.index].spaceIndex
            let floor = scope.kind == .point ? topology.points[scope.index].floorIndex : topology.spaces[scope.index].floorIndex
            let day = LocalInstant(milliseconds: time, in: topology.buildings[topology.floors[floor].buildingIndex].timeZone).date
            let tenant = space.flatMap { topology.tenantIndex(ofSpace: $0, on: day) }.map { topology.tenants[$0].id }
            return AlertPlace(building: building, floor: topology.floors[floor].id, tenant: tenant)
        }
    }
}

extension Resolution {
    /// Finer first: an hour is judged before the day that holds it.
    var order: Int {
        switch self {
        case .minute: 0
        case .hour: 1
        case .day: 2
        case .month: 3
        }
    }
}
