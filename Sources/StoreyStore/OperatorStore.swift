import StoreyCore

/// What the operator's view reads: figures, when points last reported, alerts with their history and
/// silences, and the outbox. SQLite's (`SQLiteOperatorStore`) for a single instance; PostgreSQL's for an
/// estate, where any instance answers for the whole estate. Called on `BlockingWork` threads, never on
/// Swift's shared ones: a call may wait on the database.
public protocol OperatorStore: Sendable {
    /// Figure rows of every scope of `kinds` for windows of `resolution` starting at one of `windowStarts`.
    func windowFigures(resolution: Resolution, windowStarts: Set<Int64>, kinds: Set<ScopeKind>) throws -> [StoredFigure]
    /// Figure rows of every scope of one kind with `from ≤ window_start < to`, oldest first.
    func figures(kind: ScopeKind, resolution: Resolution, from: Int64, to: Int64) throws -> [StoredFigure]
    /// Figure rows of one scope, oldest first, with `from ≤ window_start < to` (Unix seconds).
    func figures(scope: ScopeKind, id: String, resolution: Resolution, quantity: Quantity?, from: Int64, to: Int64) throws -> [StoredFigure]
    /// The time (milliseconds) of each point's newest stored reading; points with none are absent.
    func lastReadingTimes(pointIDs: [String]) throws -> [String: Int64]

    /// Alerts as they stand, newest change first, filtered (nil matches everything).
    func alerts(
        state: AlertState?, building: String?, floor: String?, tenant: String?, rule: String?, fingerprint: String?, limit: Int
    ) throws -> [(alert: Alert, updatedAt: Int64)]
    func transitions(_ filter: TransitionFilter) throws -> [TransitionRecord]
    func loadSilences() throws -> [Silence]

    /// The outbox, or why it cannot be read.
    func deliveries() throws -> any DeliveryStorage
}

extension OperatorStore {
    public func windowFigures(resolution: Resolution, windowStarts: Set<Int64>) throws -> [StoredFigure] {
        try windowFigures(resolution: resolution, windowStarts: windowStarts, kinds: [.space, .tenant, .floor, .building])
    }

    public func alerts(
        state: AlertState? = nil, building: String? = nil, floor: String? = nil, tenant: String? = nil, rule: String? = nil
    ) throws -> [(alert: Alert, updatedAt: Int64)] {
        try alerts(state: state, building: building, floor: floor, tenant: tenant, rule: rule, fingerprint: nil, limit: 10_000)
    }

    public func alert(fingerprint: String) throws -> (alert: Alert, updatedAt: Int64)? {
        try alerts(state: nil, building: nil, floor: nil, tenant: nil, rule: nil, fingerprint: fingerprint, limit: 1).first
    }
}

/// The single instance's store: readings, figures, alerts and the outbox in one SQLite file.
public struct SQLiteOperatorStore: OperatorStore {
    public let readings: ReadingStore
    private let alertStore: AlertStore
    private let outbox: Result<DeliveryStore, any Error>

    public init(_ readings: ReadingStore) {
        self.readings = readings
        alertStore = AlertStore(readings)
        // The same database as the readings and alerts; opened once, here.
        outbox = Result { try DeliveryStore(path: readings.path) }
    }

    public func windowFigures(resolution: Resolution, windowStarts: Set<Int64>, kinds: Set<ScopeKind>) throws -> [StoredFigure] {
        try readings.windowFigures(resolution: resolution, windowStarts: windowStarts, kinds: kinds)
    }

    public func figures(kind: ScopeKind, resolution: Resolution, from: Int64, to: Int64) throws -> [StoredFigure] {
        try readings.figures(kind: kind, resolution: resolution, from: from, to: to)
    }

    public func figures(scope: ScopeKind, id: String, resolution: Resolution, quantity: Quantity?, from: Int64, to: Int64) throws -> [StoredFigure] {
        try readings.figures(scope: scope, id: id, resolution: resolution, quantity: quantity, from: from, to: to)
    }

    public func lastReadingTimes(pointIDs: [String]) throws -> [String: Int64] {
        try readings.lastReadingTimes(pointIDs: pointIDs)
    }

    public func alerts(
        state: AlertState?, building: String?, floor: String?, tenant: String?, rule: String?, fingerprint: String?, limit: Int
    ) throws -> [(alert: Alert, updatedAt: Int64)] {
        try alertStore.alerts(state: state, building: building, floor: floor, tenant: tenant, rule: rule, fingerprint: fingerprint, limit: limit)
    }

    public func transitions(_ filter: TransitionFilter) throws -> [TransitionRecord] { try alertStore.transitions(filter) }
    public func loadSilences() throws -> [Silence] { try alertStore.loadSilences() }
    public func deliveries() throws -> any DeliveryStorage { try outbox.get() }
}
