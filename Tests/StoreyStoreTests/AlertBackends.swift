import Foundation
import StoreyCore
import StoreyPostgres
import StoreyStore
import StoreyTestSupport

/// One alert store as the tests use it, whatever the backend, beside the reading store of its database.
protocol TestedAlertStore: Sendable {
    @discardableResult
    func commit(alerts: [Alert], actions: [AlertAction], places: (AlertTransition) -> AlertPlace, progress: [String: Int64], silencesSaved: [Silence], now: Int64) async throws -> Int
    func alerts(state: AlertState?, building: String?, tenant: String?) async throws -> [(alert: Alert, updatedAt: Int64)]
    func transitions(_ filter: TransitionFilter) async throws -> [TransitionRecord]
    func outbox() async throws -> [(id: Int64, notification: AlertNotification)]
    func loadSilences() async throws -> [Silence]
    func loadAlerts() async throws -> [Alert]
    func progress() async throws -> [String: Int64]
    func pruneHistory(before: Int64, chunk: Int) async throws -> Int
    func figureRows(of scopes: [(kind: ScopeKind, id: String)], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64) async throws -> [[(Quantity, FigureValues)]]
    func pointReadings(of points: [(id: String, quantity: Quantity)], resolution: Resolution, windowStart: Int64, windowEnd: Int64) async throws -> [Int]
}

extension TestedAlertStore {
    @discardableResult
    func commit(
        alerts: [Alert], actions: [AlertAction], places: (AlertTransition) -> AlertPlace, progress: [String: Int64] = [:], silencesSaved: [Silence] = [],
        now: Int64
    ) async throws -> Int {
        try await commit(alerts: alerts, actions: actions, places: places, progress: progress, silencesSaved: silencesSaved, now: now)
    }
    func alerts(state: AlertState? = nil, building: String? = nil, tenant: String? = nil) async throws -> [(alert: Alert, updatedAt: Int64)] {
        try await alerts(state: state, building: building, tenant: tenant)
    }
    func pruneHistory(before: Int64) async throws -> Int { try await pruneHistory(before: before, chunk: 2000) }
}

enum AlertStores {
    /// An alert store and the reading store of the same database.
    static func open(_ backend: ReadingBackend, _ topology: Topology) async throws -> (alerts: TestedAlertStore, readings: TestedReadingStore) {
        let readings = try await ReadingStores.open(backend, topology)
        switch readings {
        case let sqlite as SQLiteReadings: return (SQLiteAlerts(store: AlertStore(sqlite.store)), readings)
        case let postgres as PostgresReadings: return (PostgresAlerts(store: PostgresAlertStore(database: postgres.store.database)), readings)
        default: fatalError("a reading store of no known backend")
        }
    }
}

struct SQLiteAlerts: TestedAlertStore {
    let store: AlertStore
    func commit(alerts: [Alert], actions: [AlertAction], places: (AlertTransition) -> AlertPlace, progress: [String: Int64], silencesSaved: [Silence], now: Int64) async throws -> Int {
        try store.commit(alerts: alerts, actions: actions, places: places, progress: progress, silencesSaved: silencesSaved, now: now)
    }
    func alerts(state: AlertState?, building: String?, tenant: String?) async throws -> [(alert: Alert, updatedAt: Int64)] {
        try store.alerts(state: state, building: building, tenant: tenant)
    }
    func transitions(_ filter: TransitionFilter) async throws -> [TransitionRecord] { try store.transitions(filter) }
    func outbox() async throws -> [(id: Int64, notification: AlertNotification)] { try store.outbox() }
    func loadSilences() async throws -> [Silence] { try store.loadSilences() }
    func loadAlerts() async throws -> [Alert] { try store.loadAlerts() }
    func progress() async throws -> [String: Int64] { try store.progress() }
    func pruneHistory(before: Int64, chunk: Int) async throws -> Int { try store.pruneHistory(before: before, chunk: chunk) }
    func figureRows(of scopes: [(kind: ScopeKind, id: String)], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64) async throws -> [[(Quantity, FigureValues)]] {
        try store.figureRows(of: scopes, quantities: quantities, resolution: resolution, windowStart: windowStart, windowEnd: windowEnd)
    }
    func pointReadings(of points: [(id: String, quantity: Quantity)], resolution: Resolution, windowStart: Int64, windowEnd: Int64) async throws -> [Int] {
        try store.pointReadings(of: points, resolution: resolution, windowStart: windowStart, windowEnd: windowEnd)
    }
}

struct PostgresAlerts: TestedAlertStore {
    let store: PostgresAlertStore
    func commit(alerts: [Alert], actions: [AlertAction], places: (AlertTransition) -> AlertPlace, progress: [String: Int64], silencesSaved: [Silence], now: Int64) async throws -> Int {
        try await store.commit(alerts: alerts, actions: actions, places: places, progress: progress, silencesSaved: silencesSaved, now: now)
    }
    func alerts(state: AlertState?, building: String?, tenant: String?) async throws -> [(alert: Alert, updatedAt: Int64)] {
        try await store.alerts(state: state, building: building, tenant: tenant)
    }
    func transitions(_ filter: TransitionFilter) async throws -> [TransitionRecord] { try await store.transitions(filter) }
    func outbox() async throws -> [(id: Int64, notification: AlertNotification)] { try await store.outbox() }
    func loadSilences() async throws -> [Silence] { try await store.loadSilences() }
    func loadAlerts() async throws -> [Alert] { try await store.loadAlerts() }
    func progress() async throws -> [String: Int64] { try await store.progress() }
    func pruneHistory(before: Int64, chunk: Int) async throws -> Int { try await store.pruneHistory(before: before, chunk: chunk) }
    func figureRows(of scopes: [(kind: ScopeKind, id: String)], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64) async throws -> [[(Quantity, FigureValues)]] {
        try await store.figureRows(of: scopes, quantities: quantities, resolution: resolution, windowStart: windowStart)
    }
    func pointReadings(of points: [(id: String, quantity: Quantity)], resolution: Resolution, windowStart: Int64, windowEnd: Int64) async throws -> [Int] {
        try await store.pointReadings(of: points, resolution: resolution, windowStart: windowStart, windowEnd: windowEnd)
    }
}
