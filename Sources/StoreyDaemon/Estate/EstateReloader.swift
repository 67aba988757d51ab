import Logging
import ServiceLifecycle
import StoreyAPI
import StoreyConfig
import StoreyPostgres
import UnixSignals

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
        var running = current
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            notifier.reloading()
            logger.notice("reloading configuration", metadata: ["config": "\(file)"])
            do {
                let next = try ConfigurationLoader.load(file: file, overrides: overrides)
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
                metrics.points.set(Double(next.topology.points.count))
                metrics.reloads.increment()
                for (setting, changed) in [
                    ("mqtt", next.mqtt != running.mqtt || next.subscriptions != running.subscriptions),
                    ("storage", next.storage != running.storage),
                    ("http", next.http != running.http || next.httpAccess.tls != running.httpAccess.tls),
                ] where changed {
                    logger.warning("a changed \(setting) setting takes effect at the next restart", metadata: ["setting": "\(setting)"])
                }
                running = next
                logger.notice("configuration reloaded", metadata: ["points": "\(next.topology.points.count)"])
                notifier.ready(status: "Reloaded; \(next.topology.points.count) points")
            } catch let errors as ConfigErrors {
                metrics.reloadFailures.increment()
                for error in errors.errors { logger.error("reload refused: \(error)") }
                logger.error("configuration NOT reloaded; still running the previous one", metadata: ["errors": "\(errors.errors.count)"])
                notifier.ready(status: "Reload refused (\(errors.errors.count) errors); running the previous configuration")
            } catch {
                metrics.reloadFailures.increment()
                logger.error("configuration NOT reloaded; still running the previous one", metadata: ["error": "\(error)"])
                notifier.ready(status: "Reload failed; running the previous configuration")
            }
        }
    }

    struct ReloadRefused: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
