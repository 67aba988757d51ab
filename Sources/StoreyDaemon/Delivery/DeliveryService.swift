import Logging
import ServiceLifecycle
import StoreyConfig
import StoreyDelivery
import StoreyStore

/// Alert delivery as one service of the daemon: the outbox → webhooks and mail. It wakes when told
/// that outbox rows were added (`outboxChanged()`), and polls anyway, so a restart resumes by itself.
public final class DeliveryService: Service, Sendable {
    let engine: DeliveryEngine
    private let logger: Logger

    /// Nil when the configuration has no `delivery:` section (notifications then wait in the outbox).
    static func make(_ configuration: Configuration, metrics: StoreyMetrics, logger: Logger) throws -> DeliveryService? {
        guard configuration.delivery != nil else { return nil }
        return try make(configuration, store: try DeliveryStore(path: configuration.databasePath), metrics: metrics, logger: logger)
    }

    /// On any outbox: an estate instance's is the shared one on PostgreSQL, where each message is claimed
    /// by one instance.
    static func make(_ configuration: Configuration, store: any DeliveryStorage, metrics: StoreyMetrics, logger: Logger) throws -> DeliveryService? {
        guard let delivery = configuration.delivery else { return nil }
        let senders = try ReceiverSenders(delivery)
        return DeliveryService(engine: DeliveryEngine(store: store, senders: senders, observer: DeliveryMetrics(metrics), logger: logger), logger: logger)
    }

    private init(engine: DeliveryEngine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    /// Outbox rows were committed: deliver them now rather than at the next poll.
    public func outboxChanged() { engine.outboxChanged() }

    /// Readies a reloaded configuration (reads its secrets) without applying it: a failure here keeps
    /// the whole old configuration.
    func prepare(_ configuration: Configuration) throws -> ReceiverSenders? {
        guard let delivery = configuration.delivery else { return nil }
        return try ReceiverSenders(delivery)
    }

    func apply(_ senders: ReceiverSenders?) {
        guard let senders else {
            logger.warning("the delivery section was removed; delivery keeps its previous configuration until the next restart")
            return
        }
        engine.apply(senders)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await engine.run()
        } onGracefulShutdown: {
            self.engine.stop()
        }
    }
}
