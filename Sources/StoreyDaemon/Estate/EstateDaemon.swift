import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ServiceLifecycle
import StoreyAPI
import StoreyConfig
import StoreyCore
import StoreyPostgres
import UnixSignals

/// storeyd as one of several instances sharing an estate over PostgreSQL (`storage: postgresql`): it
/// takes in and judges the shards it holds (`ShardIntakes`), delivers from the shared outbox (each
/// message claimed by one instance), and serves `/healthz`, `/readyz`, `/metrics` and `/api/v1/shards`
/// (who holds which shard, from the shared database, so any instance tells the whole estate's ownership).
///
/// Not yet on PostgreSQL (docs/estate.md, "Still to wire"): the rest of the API and the dashboard,
/// operators' actions on alerts, housekeeping and reload. The start-up log says so.
struct EstateDaemon {
    let configuration: Configuration
    let storage: PostgresStorage
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
        let delivery = try DeliveryService.make(
            configuration, store: PostgresDeliveryStore(database: database, instance: storage.instance), metrics: metrics, logger: logger)
        let shards = ShardIntakes(
            configuration: configuration, storage: storage, database: database, metrics: metrics, logger: logger, clock: clock,
            outboxChanged: { delivery?.outboxChanged() })
        let access = AccessPolicy(
            tokens: try OperatorView.loadTokens(configuration.httpAccess), openHealth: configuration.httpAccess.openHealth,
            failedAttempts: FailedTokenAttempts(limit: configuration.httpAccess.failedTokenLimit))
        let http = try Self.application(configuration: configuration, access: access, metrics: metrics, database: database, shards: shards, storage: storage, logger: logger)
        logger.warning(
            "on PostgreSQL, this version takes readings in, judges its shards' rules and delivers alerts; the operator's API and dashboard, alert acknowledgements and silences, housekeeping and reload run on SQLite only (docs/estate.md)")
        logger.info("starting", metadata: [
            "config": "\(configuration.file)", "broker": "\(configuration.mqtt.url)", "instance": "\(storage.instance)",
            "owns": "\(storage.owns.joined(separator: ","))", "standby": "\(storage.standby)", "http": "\(configuration.http)",
        ])
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: shards),
            ] + (delivery.map { [.init(service: $0)] } ?? []) + [
                .init(service: EstateWatch(shards: shards, metrics: metrics, notifier: notifier, logger: logger)),
                .init(service: http),
                .init(service: ReloadRefusal(logger: logger)),
                .init(service: StopNotice(notifier: notifier, logger: logger)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        notifier.ready(status: "Connected to the estate's database as \(storage.instance)")
        try await group.run()
        logger.info("stopped cleanly")
    }

    /// One shard's row in `/api/v1/shards`.
    struct ShardRow: Codable, Sendable {
        var shard: String
        var buildings: [String]
        /// nil: nobody has held it yet.
        var instance: String?
        var since: Date?
        var lastSeen: Date?
        /// Held by the instance answering.
        var heldHere: Bool
    }

    struct ShardList: ResponseEncodable, Sendable {
        var instance: String
        var shards: [ShardRow]
    }

    static func application(
        configuration: Configuration, access: AccessPolicy, metrics: StoreyMetrics, database: PostgresStore, shards: ShardIntakes,
        storage: PostgresStorage, logger: Logger
    ) throws -> some Service {
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        access.guardRoutes(of: router)
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            let reachable = (try? await database.client.query("SELECT 1", logger: logger).collect()) != nil
            let subscribed = shards.allSubscribed
            let body = "database: \(reachable ? "reachable" : "not reachable")\nshards: \(subscribed ? "all subscribed" : "not all subscribed")\n"
            return Response(
                status: reachable && subscribed ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("api/v1/shards") { _, _ -> ShardList in
            let owners = try await ShardOwnership.owners(database)
            let here = shards.heldShards
            func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
            return ShardList(instance: storage.instance, shards: storage.shards.map { shard in
                let owner = owners[shard.name]
                return ShardRow(
                    shard: shard.name, buildings: shard.buildings, instance: owner?.instance, since: owner.map { date($0.since) },
                    lastSeen: owner.map { date($0.seenAt) }, heldHere: here.contains(shard.name))
            })
        }
        var server = HTTPServerBuilder.http1()
        if let tls = configuration.httpAccess.tls {
            server = try .tls(.http1(), tlsConfiguration: try HTTPService.tlsConfiguration(tls))
        }
        return Application(
            router: router, server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "storeyd"),
            logger: logger)
    }
}

/// SIGHUP (`systemctl reload`) on an estate instance: not applied yet, and said so, instead of SIGHUP's
/// default of ending the process.
struct ReloadRefusal: Service, CustomStringConvertible {
    var description: String { "ReloadRefusal" }
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.warning("reload asked for: an estate instance does not reload its configuration yet; restart it to apply a change")
        }
    }
}
