import StoreyAPI
import StoreyConfig
import StoreyCore
import StoreyPostgres

/// Operators' actions on an estate instance. An alert is acknowledged by the monitor judging it: here,
/// when this instance holds the shard of the alert's building; otherwise the answer names the instance
/// that does. Silences go to the shared store, and every instance's monitors take them up on their next
/// tick. Called on `BlockingWork` threads (the store waits there).
struct EstateAlertDesk: AlertDesk {
    let shards: ShardIntakes
    let store: PostgresOperatorStore
    let storage: PostgresStorage
    let now: @Sendable () -> Int64

    func acknowledge(_ fingerprint: String, by: String, comment: String) throws -> Bool {
        guard let monitor = try judging(fingerprint) else { return false }
        return try monitor.acknowledge(fingerprint, by: by, comment: comment)
    }

    func unacknowledge(_ fingerprint: String, by: String) throws -> Bool {
        guard let monitor = try judging(fingerprint) else { return false }
        return try monitor.unacknowledge(fingerprint, by: by)
    }

    func addSilence(_ silence: Silence) throws {
        try store.saveSilence(silence, now: now())
    }

    func expireSilence(id: String) throws {
        try store.saveSilence(nil, expiring: id, now: now())
    }

    /// The monitor judging the alert, here; nil when there is no such alert; a conflict naming the holder
    /// when another instance judges it.
    private func judging(_ fingerprint: String) throws -> UnderuseMonitor? {
        guard let alert = try store.alert(fingerprint: fingerprint)?.alert, let building = alert.labels["building"] else { return nil }
        if let monitor = shards.monitor(judging: building) { return monitor }
        let shard = storage.shards.first { $0.buildings.contains(building) }?.name ?? "?"
        let holder = try store.shardHolders()[shard]
        throw Problem(
            .conflict, type: Problem.base + "judged-elsewhere", title: "Another instance judges this alert",
            detail: "alert \(fingerprint) is of building \(building), in shard \(shard), "
                + (holder.map { "held by instance \($0): acknowledge it there" } ?? "which no instance holds now: try again shortly"))
    }
}
