import Foundation
import Logging
import ServiceLifecycle
import StoreyAPI
import StoreyConfig
import StoreyCore
import StoreyPostgres
import Synchronization

/// storeyd as one of several instances sharing an estate over PostgreSQL (`storage: postgresql`): it
/// takes in and judges the shards it holds (`ShardIntakes`), delivers from the shared outbox (each
/// message claimed by one instance), and serves `/healthz`, `/readyz` and `/metrics`.
///
/// Its operator's view (API, event stream, dashboard) reads the whole estate from the shared store, and
/// `/api/v1/shards` says who holds which shard; hourly pruning runs on one instance at a time; SIGHUP
/// reloads the configuration (`EstateReloader`).
struct EstateDaemon {
    let configuration: Configuration
    let storage: PostgresStorage
    /// Read again at SIGHUP.
    let file: String
    let overrides: ConfigurationOverrides
    let logger: Logger

    func run() async throws {
        let notifier = SystemdNotifier()
        let metrics = StoreyMetrics()
        metrics.points.set(Double(configuration.topology.points.count))
        let clock = SteadyWallClock()
        let password = try storage.password?.read()
        logger.info("connecting to the estate's database", metadata: [
            "database": "\(storage.location.host):\(storage.location.port)/\(storage.location.database)", "instance": "\(storage.instance)",
        ])
        let database = try await PostgresStore(storage.location, password: password, logger: logger)
        defer { database.close() }
        let outbox = PostgresDeliveryStore(database: database, instance: storage.instance)
        let delivery = try DeliveryService.make(configuration, store: outbox, metrics: metrics, logger: logger)
        // The operator's view reads the whole estate, and housekeeping prunes it (a store that never
        // writes readings: no fence).
        let estateReadings = try await PostgresReadingStore(database: database, topology: configuration.topology, intake: "operator-view")
        let store = PostgresOperatorStore(readings: estateReadings, outbox: outbox)
        let events = EventHub(clientBuffer: configuration.httpAccess.eventClientBuffer)
        let status = Mutex(DaemonStatus(brokerConnected: false, storeWritable: true))
        let view = OperatorView(
            operatorStore: store, topology: configuration.topology, workingTimes: configuration.workingTimes,
            access: AccessPolicy(
                tokens: try OperatorView.loadTokens(configuration.httpAccess), openHealth: configuration.httpAccess.openHealth,
                failedAttempts: FailedTokenAttempts(limit: configuration.httpAccess.failedTokenLimit)),
            events: events, status: { status.withLock { $0 } })
        // (Its monitors' transitions reach the event stream through the shared store, as every
        // instance's do: `EstateEvents`.)
        let shards = ShardIntakes(
            configuration: configuration, storage: storage, database: database, metrics: metrics, logger: logger, clock: clock,
            outboxChanged: { delivery?.outboxChanged() })
        view.attach(EstateAlertDesk(shards: shards, store: store, storage: storage, now: { clock.now() }))
        if let delivery { view.onOutboxReplayed { delivery.outboxChanged() } }
        let health = HealthProbe(
            brokerConnected: { shards.allSubscribed },
            storeWritable: { !shards.isStoreFailing && store.isReachable() })
        view.attachShards { try await Self.shards(database: database, held: shards, storage: storage) }
        let listening = HTTPListening()
        let http = try HTTPService.application(
            address: configuration.http, access: configuration.httpAccess, metrics: metrics, health: health, view: view,
            listening: listening, logger: logger)
        let estateEvents = EstateEvents(
            alerts: PostgresAlertStore(database: database), readings: estateReadings, view: view, now: { clock.now() }, logger: logger)
        let windowEvents = WindowEventSource(
            view: view, newestReading: { [shards.newestReading, estateEvents.newestReading].compactMap { $0 }.max() }, logger: logger)
        let housekeeping = EstateHousekeeping(
            pruning: EstatePruning(readings: estateReadings, instance: storage.instance), retentionDays: configuration.rawRetentionDays,
            historyRetention: configuration.alerting.historyRetention, now: { clock.now() }, logger: logger)
        let reloader = EstateReloader(
            file: file, overrides: overrides, current: configuration, shards: shards, readings: estateReadings, view: view,
            delivery: delivery, metrics: metrics, notifier: notifier, logger: logger)
        logger.info("starting", metadata: [
            "config": "\(configuration.file)", "broker": "\(configuration.mqtt.url)", "instance": "\(storage.instance)",
            "owns": "\(storage.owns.joined(separator: ","))", "standby": "\(storage.standby)", "http": "\(configuration.http)",
        ])
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: shards),
            ] + (delivery.map { [.init(service: $0)] } ?? []) + [
                .init(service: EstateWatch(shards: shards, metrics: metrics, notifier: notifier, logger: logger) { connected, writable in
                    status.withLock { $0 = DaemonStatus(brokerConnected: connected, storeWritable: writable) }
                }),
                .init(service: http),
                .init(service: windowEvents),
                .init(service: estateEvents),
                .init(service: housekeeping),
                .init(service: reloader),
                .init(service: StopNotice(notifier: notifier, logger: logger)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        // READY=1 once the HTTP server listens (the database answered already).
        let readiness = Task {
            await listening.wait()
            guard !Task.isCancelled else { return }
            notifier.ready(status: "Connected to the estate's database as \(storage.instance)")
        }
        defer { readiness.cancel() }
        try await group.run()
        logger.info("stopped cleanly")
    }

    /// `GET /api/v1/shards`: who holds which shard, from the shared database (any instance answers for
    /// the whole estate; the dashboard shows it).
    static func shards(database: PostgresStore, held: ShardIntakes, storage: PostgresStorage) async throws -> ShardsJSON {
        let owners = try await ShardOwnership.owners(database)
        let here = held.heldShards
        return ShardsJSON(instance: storage.instance, shards: storage.shards.map { shard in
            let owner = owners[shard.name]
            return ShardJSON(
                shard: shard.name, buildings: shard.buildings, instance: owner?.instance, since: owner?.since, lastSeen: owner?.seenAt,
                heldHere: here.contains(shard.name))
        })
    }
}
