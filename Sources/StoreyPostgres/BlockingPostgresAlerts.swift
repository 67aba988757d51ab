import StoreyCore
import StoreyStore

/// `PostgresAlertStore` as the underuse monitor's `AlertStorage`: each call starts the query on Swift's
/// shared threads and waits for the answer on the calling thread. The monitor judges on a thread of its
/// own (`BlockingWork`), so the wait never takes a shared thread from the query it waits for.
///
/// With a `fence`, every commit is the shard holder's only: a monitor whose instance lost the shard
/// cannot record a transition or add to the outbox (its commit throws `ShardFence.NotHolder`).
public final class BlockingPostgresAlerts: AlertStorage {
    public let store: PostgresAlertStore
    public let fence: ShardFence?

    public init(_ store: PostgresAlertStore, fence: ShardFence? = nil) {
        self.store = store
        self.fence = fence
    }

    public func loadAlerts() throws -> [Alert] { try waitHere { try await self.store.loadAlerts() } }
    public func loadSilences() throws -> [Silence] { try waitHere { try await self.store.loadSilences() } }
    public func progress() throws -> [String: Int64] { try waitHere { try await self.store.progress() } }

    public func commit(
        alerts: [Alert], actions: [AlertAction], places: (AlertTransition) -> AlertPlace, progress: [String: Int64],
        silencesSaved: [Silence], silencesRemoved: [String], now: Int64
    ) throws -> Int {
        let placed = PostgresAlertStore.places(of: actions, places)
        return try waitHere {
            try await self.store.commit(
                alerts: alerts, actions: actions, placed: placed, progress: progress, silencesSaved: silencesSaved,
                silencesRemoved: silencesRemoved, now: now, fence: self.fence)
        }
    }

    /// PostgreSQL stores every window's rows as readings arrive: the window's end is not needed.
    public func figureRows(
        of scopes: [(kind: ScopeKind, id: String)], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64
    ) throws -> [[(Quantity, FigureValues)]] {
        let scopes = scopes.map { ScopeKey(kind: $0.kind, id: $0.id) }
        return try waitHere {
            try await self.store.figureRows(of: scopes.map { ($0.kind, $0.id) }, quantities: quantities, resolution: resolution, windowStart: windowStart)
                .map { rows in rows.map { QuantityFigures(quantity: $0.0, values: $0.1) } }
        }.map { rows in rows.map { ($0.quantity, $0.values) } }
    }

    public func pointReadings(of points: [(id: String, quantity: Quantity)], resolution: Resolution, windowStart: Int64, windowEnd: Int64) throws -> [Int] {
        let points = points.map { PointKey(id: $0.id, quantity: $0.quantity) }
        return try waitHere {
            try await self.store.pointReadings(of: points.map { ($0.id, $0.quantity) }, resolution: resolution, windowStart: windowStart, windowEnd: windowEnd)
        }
    }

    // Tuples are not Sendable: what crosses to the query's task and back goes in these.
    private struct ScopeKey: Sendable { var kind: ScopeKind, id: String }
    private struct PointKey: Sendable { var id: String, quantity: Quantity }
    private struct QuantityFigures: Sendable { var quantity: Quantity, values: FigureValues }
}
