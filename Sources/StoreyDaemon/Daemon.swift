import CMalloc
import Foundation
import Logging
import ServiceLifecycle
import StoreyAPI
import StoreyConfig
import StoreyCore
import StoreyIntake
import StoreyStore
import Synchronization
import UnixSignals

/// `storeyd`: intake, storage and the HTTP listener in one `ServiceGroup`, speaking the systemd
/// notification protocol, reloading on SIGHUP and draining on SIGTERM.
public struct Daemon: Sendable {
    public var configurationFile: String
    public var overrides: ConfigurationOverrides
    public var logger: Logger

    public init(configurationFile: String, overrides: ConfigurationOverrides, logger: Logger) {
        self.configurationFile = configurationFile
        self.overrides = overrides
        self.logger = logger
    }

    public func run() async throws {
        let notifier = SystemdNotifier()
        let configuration = try ConfigurationLoader.load(file: configurationFile, overrides: overrides)
        if case .postgresql(let storage) = configuration.storage {
            try await EstateDaemon(configuration: configuration, storage: storage, file: configurationFile, overrides: overrides, logger: logger).run()
            return
        }
        let metrics = StoreyMetrics()
        metrics.points.set(Double(configuration.topology.points.count))

        // One steadied wall clock for "when was a point last heard" and "what time is it now" (never back).
        let clock = SteadyWallClock()
        let store = try ReadingStore(path: configuration.databasePath, topology: configuration.topology, now: { clock.now() })
        let journal = try IntakeJournal(
            path: configuration.databasePath + "-intake-journal",
            storedUpTo: try store.intakeJournalPosition().map { JournalPosition(generation: $0.generation, offset: $0.position) })
        let intake = MQTTIntake(settings: try Self.mqttSettings(configuration), logger: logger, journal: journal)
        let pipeline = IntakePipeline(intake: intake, store: store, configuration: configuration, metrics: metrics, logger: logger, clock: clock)
        let monitor = try UnderuseMonitor(
            configuration: configuration, store: store, logger: logger, metrics: metrics, now: { clock.now() }, caughtUp: Self.caughtUp(intake, pipeline),
            connected: { intake.status.state == .subscribed },
            intakeIdle: { intake.status.bufferedMessages == 0 && pipeline.isIdle })
        pipeline.onStored { monitor.stored($0) }
        let health = HealthProbe(
            brokerConnected: { intake.status.state == .subscribed },
            storeWritable: { !pipeline.isStoreFailing && (try? store.probe()) != nil })
        let view = OperatorView(
            store: store, topology: configuration.topology, workingTimes: configuration.workingTimes,
            access: AccessPolicy(
                tokens: try OperatorView.loadTokens(configuration.httpAccess), openHealth: configuration.httpAccess.openHealth,
                failedAttempts: FailedTokenAttempts(limit: configuration.httpAccess.failedTokenLimit)),
            events: EventHub(clientBuffer: configuration.httpAccess.eventClientBuffer),
            status: { DaemonStatus(brokerConnected: health.brokerConnected(), storeWritable: health.storeWritable()) })
        view.attach(monitor)
        // Alert transitions join the event stream.
        monitor.onTransitions { view.publishAlertEvents($0) }
        if configuration.httpAccess.tokens == nil {
            logger.warning("no tokens configured (http.tokens_file): the API is open to anyone who reaches \(configuration.http)")
        }
        let listening = HTTPListening()
        let http = try HTTPService.application(
            address: configuration.http, access: configuration.httpAccess, metrics: metrics, health: health, view: view,
            listening: listening, logger: logger)
        let windowEvents = WindowEventSource(view: view, newestReading: { pipeline.newestReading }, logger: logger)
        let housekeeping = Housekeeping(
            intake: intake, pipeline: pipeline, store: store, metrics: metrics, notifier: notifier,
            retentionDays: configuration.rawRetentionDays, alertHistoryRetention: configuration.alerting.historyRetention, logger: logger)
        let delivery = try DeliveryService.make(configuration, metrics: metrics, logger: logger)
        if let delivery {
            monitor.onOutboxChanged { delivery.outboxChanged() }
            view.onOutboxReplayed { delivery.outboxChanged() }
        }
        let reloader = Reloader(
            file: configurationFile, overrides: overrides, current: configuration, store: store, pipeline: pipeline,
            monitor: monitor, metrics: metrics, view: view, notifier: notifier, logger: logger, delivery: delivery)

        logger.info("starting", metadata: [
            "config": "\(configurationFile)", "broker": "\(configuration.mqtt.url)", "database": "\(configuration.databasePath)",
            "http": "\(configuration.http)", "points": "\(configuration.topology.points.count)",
        ])
        // Start order is the data flow's; shutdown runs in reverse: reload and HTTP stop first, then intake
        // drains into the store.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: pipeline),
                .init(service: monitor),
            ] + (delivery.map { [.init(service: $0)] } ?? []) + [
                .init(service: housekeeping),
                .init(service: http),
                // After HTTP, so it stops first and ends the open event streams the server waits for.
                .init(service: windowEvents),
                .init(service: reloader),
                .init(service: StopNotice(notifier: notifier, logger: logger)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))

        // READY=1 once subscribed, the store open (it is, by now) and the HTTP server listening.
        let readiness = Task {
            guard await intake.waitUntilSubscribed(), !Task.isCancelled else { return }
            await listening.wait()
            guard !Task.isCancelled else { return }
            logger.info("ready: subscribed and storing", metadata: ["topics": "\(configuration.subscriptions.joined(separator: " "))"])
            notifier.ready(status: "Subscribed to \(configuration.mqtt.url); \(configuration.topology.points.count) points")
        }
        defer { readiness.cancel() }
        do {
            try await group.run()
        } catch {
            logger.error("stopped on error", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("stopped cleanly")
    }

    /// Intake has caught up after start: subscribed for a few seconds with nothing waiting, so what the
    /// broker queued while storeyd was away is stored before the windows it belongs to are judged.
    static func caughtUp(_ intake: MQTTIntake, _ pipeline: IntakePipeline) -> @Sendable () -> Bool {
        let subscribedSince = Mutex<ContinuousClock.Instant?>(nil)
        return {
            let status = intake.status
            guard status.state == .subscribed else {
                subscribedSince.withLock { $0 = nil }
                return false
            }
            let since = subscribedSince.withLock { since in
                if since == nil { since = .now }
                return since!
            }
            return ContinuousClock.now - since >= .seconds(3) && status.bufferedMessages == 0 && pipeline.isIdle
        }
    }

    /// The MQTT client settings a configuration asks for (secrets read now).
    public static func mqttSettings(_ configuration: Configuration) throws -> MQTTSettings {
        let mqtt = configuration.mqtt
        var settings = MQTTSettings(host: mqtt.url.host, port: mqtt.url.port, clientID: mqtt.clientID)
        settings.protocolVersion = mqtt.version == .v5 ? .v5 : .v311
        settings.cleanSession = false
        settings.sessionExpiry = UInt32(clamping: mqtt.sessionExpiry)
        settings.keepAlive = mqtt.keepAlive
        settings.username = mqtt.username
        settings.password = try mqtt.password?.read()
        if mqtt.url.tls, let ca = mqtt.caFile {
            settings.tls = MQTTTLSSettings(caFile: ca, certFile: mqtt.certFile, keyFile: mqtt.keyFile)
        }
        settings.subscriptions = configuration.subscriptions.map { MQTTSubscription(topicFilter: $0, qos: mqtt.qos) }
        settings.receiveMaximum = mqtt.receiveMaximum
        settings.maxBufferedMessages = configuration.intake.maxBufferedMessages
        return settings
    }
}

/// Tells systemd `STOPPING=1` as soon as shutdown begins (the group shuts the last service down first).
struct StopNotice: Service, CustomStringConvertible {
    var description: String { "StopNotice" }
    let notifier: SystemdNotifier
    let logger: Logger
    func run() async throws {
        try? await gracefulShutdown()
        logger.notice("stopping: storing readings in hand")
        notifier.stopping()
    }
}

/// SIGHUP: read the configuration again; apply it if valid, keep the old one (and say why) if not
/// (`ReloadSignal`): the store, intake, rules, delivery and the operator's view take the new one.
struct Reloader: Service, CustomStringConvertible {
    // Service lifecycle logs each service by its description; the default one reflects every field,
    // the whole configuration included (with 100,000 points: 3.5 s of start-up).
    var description: String { "Reloader" }
    let file: String
    let overrides: ConfigurationOverrides
    let current: Configuration
    let store: ReadingStore
    let pipeline: IntakePipeline
    let monitor: UnderuseMonitor
    let metrics: StoreyMetrics
    let view: OperatorView
    let notifier: SystemdNotifier
    let logger: Logger
    var delivery: DeliveryService? = nil

    func run() async throws {
        await ReloadSignal(file: file, overrides: overrides, metrics: metrics, notifier: notifier, logger: logger).run(from: current) { next in
            let tokens = try OperatorView.loadTokens(next.httpAccess)
            let deliverySenders = try delivery?.prepare(next)
            try store.replaceTopology(next.topology)
            delivery?.apply(deliverySenders)
            pipeline.apply(next)
            monitor.apply(next)
            view.apply(topology: next.topology, workingTimes: next.workingTimes, tokens: tokens, openHealth: next.httpAccess.openHealth)
            releaseFreedMemory()  // after the store took the new topology
        }
    }
}

/// Once a second: MQTT status into metrics, the watchdog ping while intake makes progress, and the
/// hourly pruning of raw readings past retention.
struct Housekeeping: Service, CustomStringConvertible {
    var description: String { "Housekeeping" }
    let intake: MQTTIntake
    let pipeline: IntakePipeline
    let store: ReadingStore
    let metrics: StoreyMetrics
    let notifier: SystemdNotifier
    let retentionDays: Double
    /// Seconds alert transitions are kept (`alerting.history_retention`).
    let alertHistoryRetention: Double
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.pruneHourly() }
            await watch()
            group.cancelAll()
        }
    }

    /// MQTT status into metrics and the watchdog ping, four times a second until shutdown.
    private func watch() async {
        var watchdog = WatchdogTicker(notifier: notifier, logger: logger)
        var lastState: MQTTStatus.State?
        while !Task.isShuttingDownGracefully {
            let status = intake.status
            metrics.recordMQTT([status])
            if status.state != lastState {
                if lastState != nil { notifier.status("MQTT \(status.state.rawValue)") }
                lastState = status.state
            }
            watchdog.tick { pipeline.isMakingProgress(within: $0) }
            // A quarter second: well inside any watchdog period systemd allows (WatchdogSec= is whole seconds).
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Hourly, from the start, beside the loop above and not in it: a day's readings take seconds to
    /// delete (a first pass over a long history, minutes), and the watchdog pings must go on meanwhile
    /// (a system test's 3 s watchdog killed a daemon pruning at start).
    private func pruneHourly() async {
        while !Task.isCancelled {
            await prune()
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    /// Raw readings and alert history past their retention, off the shared task threads.
    private func prune() async {
        defer { releaseFreedMemory() }
        let cutoff = Int64((Date().timeIntervalSince1970 - retentionDays * 86400) * 1000)
        do {
            let removed = try await BlockingWork.shared.run { [store] in try store.pruneReadings(before: cutoff) }
            if removed > 0 { logger.info("pruned raw readings past retention", metadata: ["removed": "\(removed)"]) }
        } catch {
            logger.error("cannot prune raw readings", metadata: ["error": "\(error)"])
        }
        await pruneAlertHistory()
    }
}

/// Parsing a large topology builds a YAML tree many times the size of what is kept; glibc keeps the freed
/// pages unless asked, which would leave the daemon's resident memory at its start-up peak for months.
func releaseFreedMemory() {
    malloc_trim(0)
}

/// Fixes glibc's thresholds, which otherwise rise after the first large block is freed: a batch's figure
/// table (3 MB at `ReadingStore.pendingFigureLimit`) then comes from the heap, and its pages stay
/// resident between batches. With blocks over 128 KiB mapped on their own and the heap's free top handed
/// back above 4 MiB, a drain of 1,000,000 readings over 100,000 points peaked at 139–140 MB instead of
/// 163 MB, no slower (benchmarks/README.md, "Memory").
public func settleMemoryAllocator() {
    mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024)
}
