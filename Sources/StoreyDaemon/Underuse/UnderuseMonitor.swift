import Foundation
import Logging
import ServiceLifecycle
import StoreyAPI
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
/// downtime are in the figures before the windows they belong to are judged. A tick during which intake
/// held readings but stored none (the disk or the writer stalled) is not a quiet tick and does not check
/// silence: what is waiting may be exactly the readings that would change the verdict.
///
/// An estate instance runs one monitor per shard it holds, on PostgreSQL (`BlockingPostgresAlerts`,
/// fenced to the shard's holder): it judges only the shard's buildings, watches only their points, and
/// takes back only their alerts, so no two monitors ever judge, remind or resolve the same alert.
public final class UnderuseMonitor: Service, AlertDesk, Sendable {
    private let lastSeen: @Sendable () -> [Int64?]
    private let alerts: any AlertStorage
    /// The buildings (by id) this monitor judges; nil: all of them.
    private let buildings: Set<String>?
    /// Silences are set in the shared store by any instance (an estate's): each tick takes them up.
    private let followsStoredSilences: Bool
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let monotonic: @Sendable () -> Int64
    private let caughtUp: @Sendable () -> Bool
    private let connected: @Sendable () -> Bool
    private let intakeIdle: @Sendable () -> Bool
    private let state: Mutex<State>
    /// What intake stored since the last tick, noted on the storing task.
    private let sinceLastTick = Mutex(IntakeProgress())

    struct IntakeProgress {
        /// Batches stored.
        var batches = 0
        /// Windows that received readings.
        var touched: Set<BuildingWindow> = []
    }
    private let outboxObservers = Mutex<[@Sendable () -> Void]>([])
    private let transitionObservers = Mutex<[@Sendable ([(transition: AlertTransition, place: AlertPlace)]) -> Void]>([])
    private let metrics: UnderuseMetrics?
    private let isShardMonitor: Bool
    /// Ticks read figures and commit alerts (SQLite): on a thread of their own (`BlockingWork`).
    private let judging = BlockingWork(label: "storey.underuse")

    struct State: Sendable {
        var configuration: Configuration
        var evaluator: UnderuseEvaluator
        var judge: WindowJudge
        var progress: [String: Int64]
        /// Windows that changed in the previous tick: judged when a tick passes without more readings.
        var settling: Set<BuildingWindow> = []
        var isCaughtUp = false
        /// Since when intake has been connected without a break: silence is counted from then at the
        /// earliest, so a broker outage is not every point falling silent.
        var connectedSince: Int64?
        /// The tick's time: `now()` never taken back, and its forward steps noticed.
        var clock = SteadyTime()
    }

    /// What a monitor takes back at start: alerts, silences and how far it had judged.
    public struct Saved: Sendable {
        public var alerts: [Alert]
        public var silences: [Silence]
        public var progress: [String: Int64]

        public init(alerts: [Alert], silences: [Silence], progress: [String: Int64]) {
            self.alerts = alerts
            self.silences = silences
            self.progress = progress
        }

        /// Read from `storage` (on the calling thread: a PostgreSQL bridge waits there).
        public init(from storage: any AlertStorage) throws {
            self.init(alerts: try storage.loadAlerts(), silences: try storage.loadSilences(), progress: try storage.progress())
        }
    }

    /// The single instance's monitor, on its SQLite store: judges every building.
    public convenience init(
        configuration: Configuration, store: ReadingStore, logger: Logger, metrics: StoreyMetrics? = nil,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
        caughtUp: @escaping @Sendable () -> Bool, connected: @escaping @Sendable () -> Bool,
        intakeIdle: @escaping @Sendable () -> Bool = { true },
        monotonic: @escaping @Sendable () -> Int64 = SteadyWallClock.systemMonotonic
    ) throws {
        let alerts = AlertStore(store)
        try self.init(
            configuration: configuration, alerts: alerts, saved: try Saved(from: alerts), lastSeen: { store.lastSeenTimes },
            buildings: nil, logger: logger, metrics: metrics, now: now,
            caughtUp: caughtUp, connected: connected, intakeIdle: intakeIdle, monotonic: monotonic)
    }

    /// A monitor on any store, judging `buildings` only (nil: all). `saved` is what it takes back (of
    /// those buildings' alerts only); `lastSeen` tells when each point's last reading was stored.
    public init(
        configuration: Configuration, alerts: any AlertStorage, saved: Saved, lastSeen: @escaping @Sendable () -> [Int64?],
        buildings: Set<String>?, followsStoredSilences: Bool = false, logger: Logger, metrics: StoreyMetrics?, shard: String? = nil,
        now: @escaping @Sendable () -> Int64, caughtUp: @escaping @Sendable () -> Bool, connected: @escaping @Sendable () -> Bool,
        intakeIdle: @escaping @Sendable () -> Bool, monotonic: @escaping @Sendable () -> Int64 = SteadyWallClock.systemMonotonic
    ) throws {
        self.lastSeen = lastSeen
        self.alerts = alerts
        self.buildings = buildings
        self.followsStoredSilences = followsStoredSilences
        self.logger = logger
        self.now = now
        self.monotonic = monotonic
        self.caughtUp = caughtUp
        self.connected = connected
        self.intakeIdle = intakeIdle
        self.metrics = metrics.map { UnderuseMetrics(registry: $0.registry, shard: shard) }
        self.isShardMonitor = shard != nil
        var evaluator = Self.evaluator(for: configuration)
        // Another shard's alerts are its holder's to judge, remind and resolve.
        let mine = buildings.map { buildings in saved.alerts.filter { $0.labels["building"].map(buildings.contains) ?? false } } ?? saved.alerts
        let time = now()
        let orphans = evaluator.restore(mine, now: time)
        for silence in saved.silences where silence.end > time {
            _ = evaluator.addSilence(silence, now: time)
        }
        if !orphans.isEmpty {
            logger.notice("alerts of rules or scopes no longer configured are kept but not judged", metadata: ["alerts": "\(orphans.count)"])
        }
        state = Mutex(State(
            configuration: configuration, evaluator: evaluator, judge: Self.judge(for: configuration),
            progress: saved.progress))
    }

    /// The indices of the buildings judged in `topology`.
    private func judgedBuildings(_ topology: Topology) -> [Int] {
        guard let buildings else { return Array(topology.buildings.indices) }
        return topology.buildings.indices.filter { buildings.contains(topology.buildings[$0].id) }
    }

    static func evaluator(for configuration: Configuration) -> UnderuseEvaluator {
        UnderuseEvaluator(
            rules: configuration.rules, topology: configuration.topology, workingTimes: configuration.workingTimes,
            flapPeriod: Int64(configuration.alerting.flapPeriod * 1000),
            repeatInterval: configuration.alerting.repeatInterval.map { Int64($0 * 1000) })
    }

    static func judge(for configuration: Configuration) -> WindowJudge {
        WindowJudge(
            topology: configuration.topology, workingTimes: configuration.workingTimes,
            coverage: WindowCoverage(required: configuration.alerting.coverage),
            baseline: Baseline(weeks: configuration.alerting.baselineWeeks, minimumWeeks: configuration.alerting.baselineMinimumWeeks))
    }

    /// Called by the intake pipeline after each stored batch.
    public func stored(_ result: IngestResult) {
        sinceLastTick.withLock { progress in
            progress.batches += 1
            progress.touched.formUnion(result.windows)
        }
    }

    /// Calls `observer` after outbox rows were committed (delivery wakes up).
    public func onOutboxChanged(_ observer: @escaping @Sendable () -> Void) {
        outboxObservers.withLock { $0.append(observer) }
    }

    /// Calls `observer` with the transitions of every commit, each with where its scope sits, as history
    /// records it (the event stream shows them live).
    public func onTransitions(_ observer: @escaping @Sendable ([(transition: AlertTransition, place: AlertPlace)]) -> Void) {
        transitionObservers.withLock { $0.append(observer) }
    }

    private func committed(_ actions: [AlertAction], notified: Int, topology: Topology) {
        metrics?.outboxWritten(notified)
        if notified > 0 { for observer in outboxObservers.withLock({ $0 }) { observer() } }
        let transitions = actions.compactMap { action -> (transition: AlertTransition, place: AlertPlace)? in
            if case .record(let transition) = action { return (transition, Self.place(of: transition.scope, at: transition.time, in: topology)) }
            return nil
        }
        if !transitions.isEmpty { for observer in transitionObservers.withLock({ $0 }) { observer(transitions) } }
    }

    /// Adopts a reloaded configuration: the same alerts (by fingerprint) go on under the new rules.
    public func apply(_ configuration: Configuration) {
        state.withLock { state in
            var evaluator = Self.evaluator(for: configuration)
            let time = now()
            evaluator.restore(Array(state.evaluator.alerts.values), now: time)
            for silence in state.evaluator.silences { _ = evaluator.addSilence(silence, now: time) }
            state.evaluator = evaluator
            state.configuration = configuration
            state.judge = Self.judge(for: configuration)
        }
    }

    public func run() async throws {
        let interval = state.withLock { $0.configuration.alerting.evaluateEvery }
        // Cancelled: a shard's monitor whose shard was lost.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await judging.run { try self.tick() }
            } catch {
                logger.error("cannot judge underuse this tick; will retry", metadata: ["error": "\(error)"])
            }
            // Woken by shutdown too: `systemctl stop` must not wait out the rest of the interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
        }
        if isShardMonitor && Task.isCancelled { metrics?.clear() }
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

    /// Takes an acknowledgement back; returns false when no acknowledged firing alert has that fingerprint.
    public func unacknowledge(_ fingerprint: String, by: String) throws -> Bool {
        try change { state, time in
            (state.evaluator.unacknowledge(AlertFingerprint(value: fingerprint), by: by, at: time), [], [])
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
        let (actions, notified, topology) = try state.withLock { state in
            let time = now()
            let original = state
            let before = state.evaluator.alerts
            let (actions, saved, removed) = body(&state, time)
            let topology = state.configuration.topology
            do {
                let notified = try alerts.commit(
                    alerts: Self.changed(before, state.evaluator.alerts), actions: actions,
                    places: { Self.place(of: $0.scope, at: $0.time, in: topology) }, progress: [:],
                    silencesSaved: saved, silencesRemoved: removed, now: time)
                return (actions, notified, topology)
            } catch {
                // Not committed, not done: the operator's action is refused whole (their client is told).
                state = original
                throw error
            }
        }
        committed(actions, notified: notified, topology: topology)
        return actions.count
    }

    // MARK: The tick

    /// One evaluation: windows that closed, windows that settled after late readings, silent points,
    /// then time-driven changes (silences, reminders, flapping). Public for tests with an injected clock.
    public func tick() throws {
        let started = ContinuousClock.now
        let (actions, notified, topology) = try state.withLock { state -> ([AlertAction], Int, Topology) in
            let original = state
            var taken: IntakeProgress?
            do {
                return try judgeTick(&state, taken: &taken, started: started)
            } catch {
                // Nothing was committed (a figure read or the commit failed: on PostgreSQL, the network):
                // the whole tick is judged again next time, its windows, progress and transitions with it.
                state = original
                if let taken {
                    sinceLastTick.withLock { progress in
                        progress.batches += taken.batches
                        progress.touched.formUnion(taken.touched)
                    }
                }
                throw error
            }
        }
        committed(actions, notified: notified, topology: topology)
    }

    private func judgeTick(_ state: inout State, taken: inout IntakeProgress?, started: ContinuousClock.Instant) throws -> ([AlertAction], Int, Topology) {
        defer {
            let elapsed = (ContinuousClock.now - started).components
            metrics?.update(state.evaluator, tickSeconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
        }
        let clock = state.clock.read(wall: now(), monotonic: monotonic())
        let time = clock.time
        if let step = clock.forwardStep, state.connectedSince != nil {
            // Every point's last reading is now hours "ago": silence is counted afresh from the step,
            // as after a reconnection, and a point that really stopped is still found.
            state.connectedSince = time
            logger.notice("the host's clock stepped forward by \(step / 1000) s; point silence is counted from now")
        }
        if !state.isCaughtUp {
            guard caughtUp() else { return ([], 0, state.configuration.topology) }
            state.isCaughtUp = true
        }
        let before = state.evaluator.alerts
        var actions: [AlertAction] = []
        let grace = Int64(state.configuration.alerting.lateReadingsGrace * 1000)

        // Windows that received readings: judged one quiet tick later, oldest first.
        let intake = sinceLastTick.withLock { progress in
            defer { progress = IntakeProgress() }
            return progress
        }
        taken = intake
        let changed = intake.touched
        // (Windows still open are the clock's to judge.)
        let changedClosed = changed.filter { window in
            window.building < state.configuration.topology.buildings.count && state.judge.windowEnd(window) * 1000 + grace <= time
        }
        // Intake stalled: readings are waiting, none were stored. Settling windows stay settling.
        let stalled = intake.batches == 0 && !intakeIdle()
        var due: Set<BuildingWindow> = []
        if stalled {
            state.settling.formUnion(changedClosed)
        } else {
            due = state.settling.subtracting(changedClosed)
            state.settling = changedClosed
        }
        // Windows that closed by the clock, since the progress saved.
        var progress: [String: Int64] = [:]
        for building in judgedBuildings(state.configuration.topology) {
            for resolution in state.evaluator.resolutions {
                let name = "\(state.configuration.topology.buildings[building].id)/\(resolution.rawValue)"
                // First run: from the window now open (history before Storey ran is judged only
                // as readings for it arrive).
                var start = state.progress[name] ?? state.judge.windowStart(building: building, resolution: resolution, at: time)
                while true {
                    let window = BuildingWindow(building: building, resolution: resolution, start: start)
                    let end = state.judge.windowEnd(window)
                    guard end * 1000 + grace <= time else { break }
                    due.insert(window)
                    start = end
                }
                if state.progress[name] != start { progress[name] = start }
                state.progress[name] = start
            }
        }
        let source = StoredFigures(alerts: alerts, topology: state.configuration.topology)
        for window in due.sorted(by: { ($0.start, $0.resolution.order) < ($1.start, $1.resolution.order) }) {
            actions += try state.judge.judge(window, evaluator: &state.evaluator, source: source, now: time)
        }
        if !stalled { actions += checkSilentPoints(state: &state, now: time) }
        if followsStoredSilences { actions += try takeUpStoredSilences(&state.evaluator, now: time) }
        actions += state.evaluator.tick(now: time)

        let changedAlerts = Self.changed(before, state.evaluator.alerts)
        guard !actions.isEmpty || !changedAlerts.isEmpty || !progress.isEmpty else { return ([], 0, state.configuration.topology) }
        let topology = state.configuration.topology
        let notified = try alerts.commit(
            alerts: changedAlerts, actions: actions, places: { Self.place(of: $0.scope, at: $0.time, in: topology) },
            progress: progress, silencesSaved: [], silencesRemoved: [], now: time)
        for case .record(let transition) in actions {
            logger.notice("alert \(transition.rule) on \(transition.scope.kind.rawValue) \(transition.scopeID): \(transition.from.rawValue) → \(transition.to.rawValue)", metadata: [
                "fingerprint": "\(transition.fingerprint)", "reason": "\(transition.reason.code)",
                "value": "\(transition.values.map { "\($0.value) \($0.unit)" } ?? "-")",
            ])
        }
        return (actions, notified, topology)
    }

    /// The silences in the shared store, as they are now: new or changed ones added, expired or removed
    /// ones taken away.
    private func takeUpStoredSilences(_ evaluator: inout UnderuseEvaluator, now time: Int64) throws -> [AlertAction] {
        let stored = try alerts.loadSilences().filter { $0.end > time }
        let known = evaluator.silences
        var actions: [AlertAction] = []
        for silence in stored where !known.contains(silence) { actions += evaluator.addSilence(silence, now: time) }
        let current = Set(stored.map(\.id))
        for silence in known where !current.contains(silence.id) { actions += evaluator.removeSilence(id: silence.id, now: time) }
        return actions
    }

    private func checkSilentPoints(state: inout State, now time: Int64) -> [AlertAction] {
        let watched = state.evaluator.watchedPoints
        guard !watched.isEmpty else { return [] }
        guard connected() else {
            state.connectedSince = nil
            return []
        }
        if state.connectedSince == nil { state.connectedSince = time }
        let last = lastSeen()
        let topology = state.configuration.topology
        let judged = Set(judgedBuildings(topology))
        var actions: [AlertAction] = []
        for point in watched where point < last.count && (buildings == nil || judged.contains(topology.floors[topology.points[point].floorIndex].buildingIndex)) {
            actions += state.evaluator.pointChecked(
                point: point, lastReading: last[point], expectedInterval: topology.points[point].expectedInterval,
                watchedSince: state.connectedSince!, now: time)
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
