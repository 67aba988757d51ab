import Logging
import ServiceLifecycle
import StoreyAPI
import StoreyConfig
import StoreyPostgres

/// SIGHUP (`systemctl reload`) on an estate instance: the configuration is read again and, if it is
/// valid, applied as a single storeyd applies it — topology, rules, working hours, tokens and delivery
/// receivers — to every held shard's store, pipeline and monitor, the operator's view and delivery. A
/// file that does not load is refused whole and the running configuration goes on. Broker, HTTP and
/// storage settings (the shards among them) take effect at the next restart, and the log says so.
struct EstateReloader: Service, CustomStringConvertible {
    var description: String { "EstateReloader" }
    let file: String
    let overrides: ConfigurationOverrides
    let current: Configuration
    let shards: ShardIntakes
    /// The operator's view's store of the whole estate.
    let readings: PostgresReadingStore
    let view: OperatorView
    let delivery: DeliveryService?
    let metrics: StoreyMetrics
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        await ReloadSignal(file: file, overrides: overrides, metrics: metrics, notifier: notifier, logger: logger).run(from: current) { next in
            guard case .postgresql = next.storage else {
                throw ReloadRefused("the storage section no longer names PostgreSQL: an estate instance changes store only at a restart")
            }
            // Everything that can fail is read before anything is applied.
            let tokens = try OperatorView.loadTokens(next.httpAccess)
            let deliverySenders = try delivery?.prepare(next)
            try await readings.replaceTopology(next.topology)
            try await shards.apply(next)
            delivery?.apply(deliverySenders)
            view.apply(topology: next.topology, workingTimes: next.workingTimes, tokens: tokens, openHealth: next.httpAccess.openHealth)
        }
    }

    struct ReloadRefused: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
