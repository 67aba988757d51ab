import StoreyCore
import StoreyStore

/// The operator's view's store for an estate instance: the whole estate's figures, alerts and outbox from
/// the shared database, whichever instance stored them. Each call waits for PostgreSQL on the calling
/// `BlockingWork` thread (`waitHere`).
public final class PostgresOperatorStore: OperatorStore {
    public let readings: PostgresReadingStore
    public let alertStore: PostgresAlertStore
    public let outbox: PostgresDeliveryStore

    /// `readings`: a store on the topology in force, used only to read (no fence: it never writes readings).
    public init(readings: PostgresReadingStore, outbox: PostgresDeliveryStore) {
        self.readings = readings
        alertStore = PostgresAlertStore(database: readings.database)
        self.outbox = outbox
    }

    public func windowFigures(resolution: Resolution, windowStarts: Set<Int64>, kinds: Set<ScopeKind>) throws -> [StoredFigure] {
        try waitHere { try await self.readings.windowFigures(resolution: resolution, windowStarts: windowStarts, kinds: kinds) }
    }

    public func figures(kind: ScopeKind, resolution: Resolution, from: Int64, to: Int64) throws -> [StoredFigure] {
        try waitHere { try await self.readings.figures(kind: kind, resolution: resolution, from: from, to: to) }
    }

    public func figures(scope: ScopeKind, id: String, resolution: Resolution, quantity: Quantity?, from: Int64, to: Int64) throws -> [StoredFigure] {
        try waitHere { try await self.readings.figures(scope: scope, id: id, resolution: resolution, quantity: quantity, from: from, to: to) }
    }

    public func lastReadingTimes(pointIDs: [String]) throws -> [String: Int64] {
        try waitHere { try await self.readings.lastReadingTimes(pointIDs: pointIDs) }
    }

    public func alerts(
        state: AlertState?, building: String?, floor: String?, tenant: String?, rule: String?, fingerprint: String?, limit: Int
    ) throws -> [(alert: Alert, updatedAt: Int64)] {
        try waitHere {
            try await self.alertStore.alerts(
                state: state, building: building, floor: floor, tenant: tenant, rule: rule, fingerprint: fingerprint, limit: limit
            ).map { AlertRow(alert: $0.alert, updatedAt: $0.updatedAt) }
        }.map { ($0.alert, $0.updatedAt) }
    }

    public func transitions(_ filter: TransitionFilter) throws -> [TransitionRecord] {
        try waitHere { try await self.alertStore.transitions(filter) }
    }

    public func loadSilences() throws -> [Silence] { try waitHere { try await self.alertStore.loadSilences() } }
    public func deliveries() throws -> any DeliveryStorage { outbox }

    /// Whether the database answers (for `/readyz`).
    public func isReachable() -> Bool {
        (try? waitHere { try await self.readings.database.client.query("SELECT 1", logger: self.readings.database.logger).collect().count }) == 1
    }

    /// Saves a silence (new or changed) or ends one (`expired`, by id), for every instance's monitors to
    /// take up on their next tick.
    public func saveSilence(_ silence: Silence?, expiring expired: String? = nil, now: Int64) throws {
        _ = try waitHere {
            try await self.alertStore.commit(
                alerts: [], actions: [], placed: [], progress: [:], silencesSaved: silence.map { [$0] } ?? [],
                silencesRemoved: expired.map { [$0] } ?? [], now: now)
        }
    }

    /// Which instance holds each shard (by name), from the shared store.
    public func shardHolders() throws -> [String: String] {
        try waitHere { try await ShardOwnership.owners(self.readings.database).mapValues(\.instance) }
    }

    private struct AlertRow: Sendable { var alert: Alert, updatedAt: Int64 }
}
