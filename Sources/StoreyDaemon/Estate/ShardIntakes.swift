import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import StoreyConfig
import StoreyCore
import StoreyIntake
import StoreyPostgres
import StoreyStore
import Synchronization

/// The shards this instance holds, each taken in by an intake of its own: while `ShardOwnership` holds a
/// shard's lock, an MQTT client with the shard's own id and persistent session (so whoever holds the
/// shard resumes the same session, and gets what the broker queued while nobody did) feeds a pipeline
/// storing into the shared database, fenced to the shard's holder; and an underuse monitor judges the
/// shard's buildings from the shared figures, its commits fenced the same way (the outbox it adds to is
/// the estate's: any instance's delivery sends each message once).
///
/// A shard lost (the lock's connection failed) is dropped at once: its intake stops without acknowledging
/// more, and anything it had not stored stays with the broker. A shard handed back to its owner (this
/// instance stood by for it) stops the same way, but its lock goes only once what it holds is stored.
/// On shutdown every intake stores what it has in hand first, and only then are the locks given back.
final class ShardIntakes: Service, Sendable, CustomStringConvertible {
    var description: String { "ShardIntakes" }

    /// The configuration in force (a reload replaces it; shards acquired later start with it).
    private let current: Mutex<(configuration: Configuration, reloads: Int)>
    private var configuration: Configuration { current.withLock { $0.configuration } }
    private let storage: PostgresStorage
    private let database: PostgresStore
    private let ownership: ShardOwnership
    private let metrics: StoreyMetrics
    private let logger: Logger
    private let clock: SteadyWallClock
    private let running = Mutex<[String: RunningShard]>([:])
    private let held: Gauge
    /// Told when a shard's monitor added to the outbox (delivery wakes up).
    private let outboxChanged: @Sendable () -> Void
    /// Set once shutdown began: a shard acquired after that is not taken in.
    private let stopping = Atomic<Bool>(false)

    private struct RunningShard: Sendable {
        let slot: IntakeSlot
        let task: Task<Void, Never>
    }

    /// The shard's intake, its pipeline and its monitor once they are set up (nil before).
    private final class IntakeSlot: Sendable {
        let running = Mutex<(intake: MQTTIntake, pipeline: IntakePipeline, monitor: UnderuseMonitor, store: PostgresReadingStore)?>(nil)
        func stop() { running.withLock { $0?.intake.stop() } }
    }

    init(
        configuration: Configuration, storage: PostgresStorage, database: PostgresStore, metrics: StoreyMetrics, logger: Logger,
        clock: SteadyWallClock, outboxChanged: @escaping @Sendable () -> Void = {}
    ) {
        self.outboxChanged = outboxChanged
        current = Mutex((configuration, 0))
        self.storage = storage
        self.database = database
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        ownership = ShardOwnership(database: database, instance: storage.instance, preferred: storage.owns, standbyFor: storage.standbyFor)
        held = metrics.registry.makeGauge(descriptor: .storey("storey_shards_held", "Shards of the estate this instance holds and takes in."))
    }

    /// Every held shard's intake is subscribed (true when none is held: a standby is ready to take over).
    var allSubscribed: Bool {
        running.withLock { shards in shards.values.allSatisfy { $0.slot.running.withLock { $0?.intake.status.state == .subscribed } } }
    }

    var heldShards: Set<String> { ownership.owned }

    /// The MQTT status of each held shard's intake (those set up).
    var statuses: [MQTTStatus] {
        running.withLock { shards in shards.values.compactMap { $0.slot.running.withLock { $0?.intake.status } } }
    }

    /// Adopts a reloaded configuration: each held shard's store takes the new topology (between batches),
    /// then its pipeline binds with it and its monitor judges by the new rules; shards acquired later
    /// start with it. (Subscriptions and the storage section take effect at the next restart.)
    func apply(_ next: Configuration) async throws {
        current.withLock { $0 = (next, $0.reloads + 1) }
        let held = running.withLock { shards in shards.values.compactMap { $0.slot.running.withLock { $0 } } }
        for shard in held {
            try await shard.store.replaceTopology(next.topology)
            shard.pipeline.apply(next)
            shard.monitor.apply(next)
        }
    }

    /// The monitor judging `building` (by id), when this instance holds its shard.
    func monitor(judging building: String) -> UnderuseMonitor? {
        guard let shard = storage.shards.first(where: { $0.buildings.contains(building) })?.name else { return nil }
        return running.withLock { $0[shard]?.slot.running.withLock { $0?.monitor } }
    }

    /// Every held shard's monitor.
    var monitors: [UnderuseMonitor] {
        running.withLock { shards in shards.values.compactMap { $0.slot.running.withLock { $0?.monitor } } }
    }

    /// The time of the newest reading the held shards stored since they were taken (for the event stream).
    var newestReading: Int64? {
        running.withLock { shards in shards.values.compactMap { $0.slot.running.withLock { $0?.pipeline.newestReading } }.max() }
    }

    /// Some held shard's store writes are failing.
    var isStoreFailing: Bool {
        running.withLock { shards in shards.values.contains { $0.slot.running.withLock { $0?.pipeline.isStoreFailing ?? false } } }
    }

    /// No held shard's store write has been running for longer than `limit`: the watchdog's question.
    func isMakingProgress(within limit: Duration) -> Bool {
        running.withLock { shards in shards.values.allSatisfy { $0.slot.running.withLock { $0?.pipeline.isMakingProgress(within: limit) ?? true } } }
    }

    func run() async throws {
        let holding = Task { await ownership.run { await self.changed($0) } }
        try? await gracefulShutdown()
        stopping.store(true, ordering: .sequentiallyConsistent)
        // Store what is in hand while still the holder, then give the locks back.
        let shards = running.withLock { shards in
            defer { shards.removeAll() }
            return shards
        }
        for shard in shards.values { shard.slot.stop() }
        for shard in shards.values { await shard.task.value }
        holding.cancel()
        await holding.value
    }

    private func changed(_ change: ShardOwnership.Change) async {
        switch change {
        case .acquired(let shard):
            guard !stopping.load(ordering: .sequentiallyConsistent) else { return }
            logger.notice("shard acquired: taking in its buildings", metadata: ["shard": "\(shard)", "instance": "\(storage.instance)"])
            let slot = IntakeSlot()
            let task = Task { await self.takeIn(shard, slot: slot) }
            running.withLock { $0[shard] = RunningShard(slot: slot, task: task) }
        case .lost(let shard):
            guard let lost = running.withLock({ $0.removeValue(forKey: shard) }) else { return }
            lost.slot.stop()
            lost.task.cancel()
        case .released(let shard):
            // Handed back to its owner: what the intake holds is stored before the lock goes.
            guard let released = running.withLock({ $0.removeValue(forKey: shard) }) else { return }
            logger.notice("shard handed back to its owner: storing what its intake holds", metadata: ["shard": "\(shard)"])
            released.slot.stop()
            await released.task.value
        }
        held.record(Double(running.withLock { $0.count }))
    }

    /// Sets up and runs one shard's intake and monitor until the intake is stopped or the task cancelled;
    /// set-up failures (the database) are retried.
    private func takeIn(_ shard: String, slot: IntakeSlot) async {
        var delay = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                // One configuration for the whole set-up (a reload meanwhile is applied to it below).
                let (configuration, reloads) = current.withLock { $0 }
                let fence = ShardFence(shard: shard, instance: storage.instance)
                let store = try await PostgresReadingStore(
                    database: database, topology: configuration.topology, intake: shard, fence: fence, now: { [clock] in clock.now() })
                // No intake journal: what is not stored is not acknowledged, so it is still the broker's.
                // (A local journal could not be replayed by another instance taking the shard over, and
                // two intakes of one shard, the one stopping and the one starting, would share its file.)
                let intake = MQTTIntake(settings: try Self.settings(configuration, storage: storage, shard: shard), logger: logger)
                let pipeline = IntakePipeline(intake: intake, sink: .postgresql(store), configuration: configuration, metrics: metrics, logger: logger, clock: clock)
                let monitor = try await monitor(shard, configuration: configuration, fence: fence, store: store, intake: intake, pipeline: pipeline)
                let stopped = slot.running.withLock { current -> Bool in
                    current = (intake, pipeline, monitor, store)
                    return Task.isCancelled
                }
                if stopped { return }
                let (latest, reloadsNow) = current.withLock { $0 }
                if reloadsNow != reloads {
                    try await store.replaceTopology(latest.topology)
                    pipeline.apply(latest)
                    monitor.apply(latest)
                }
                // The monitor judges while the intake runs; the intake stopped (shard lost, or shutdown),
                // the monitor stops after its tick.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await pipeline.run() }
                    group.addTask { try await monitor.run() }
                    try await group.next()
                    group.cancelAll()
                }
                return
            } catch {
                if Task.isCancelled { return }
                logger.error("cannot take in shard; retrying", metadata: ["shard": "\(shard)", "error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// The shard's underuse monitor: its buildings only, their alerts taken back from the shared store.
    private func monitor(
        _ shard: String, configuration: Configuration, fence: ShardFence, store: PostgresReadingStore, intake: MQTTIntake,
        pipeline: IntakePipeline
    ) async throws -> UnderuseMonitor {
        let alerts = PostgresAlertStore(database: database)
        let saved = UnderuseMonitor.Saved(
            alerts: try await alerts.loadAlerts(), silences: try await alerts.loadSilences(), progress: try await alerts.progress())
        let monitor = try UnderuseMonitor(
            configuration: configuration, alerts: BlockingPostgresAlerts(alerts, fence: fence), saved: saved,
            lastSeen: { store.lastSeenTimes }, buildings: Set(storage.shards.first { $0.name == shard }?.buildings ?? []),
            followsStoredSilences: true,
            logger: shardLogger(shard), metrics: metrics, shard: shard, now: { [clock] in clock.now() },
            caughtUp: Daemon.caughtUp(intake, pipeline), connected: { intake.status.state == .subscribed },
            intakeIdle: { intake.status.bufferedMessages == 0 && pipeline.isIdle })
        pipeline.onStored { monitor.stored($0) }
        monitor.onOutboxChanged(outboxChanged)
        return monitor
    }

    private func shardLogger(_ shard: String) -> Logger {
        var logger = self.logger
        logger[metadataKey: "shard"] = "\(shard)"
        return logger
    }

    /// A shard's own client id and session, subscribed to its buildings' topics only.
    static func settings(_ configuration: Configuration, storage: PostgresStorage, shard: String) throws -> MQTTSettings {
        var settings = try Daemon.mqttSettings(configuration)
        settings.clientID = "\(configuration.mqtt.clientID)-\(shard)"
        // Another instance taking the shard over must receive what this one did not store.
        settings.acknowledgeAfterStoring = true
        let buildings = Set(storage.shards.first { $0.name == shard }?.buildings ?? [])
        settings.subscriptions = configuration.subscriptions(forBuildings: buildings).map { MQTTSubscription(topicFilter: $0, qos: configuration.mqtt.qos) }
        return settings
    }
}
