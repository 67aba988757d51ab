import Foundation
import Logging
import ServiceLifecycle
import StoreyConfig
import StoreyCore
import StoreyIntake
import StoreyPostgres
import StoreyStore
import Synchronization

/// Where the intake pipeline stores its batches.
public enum ReadingSink: Sendable {
    /// The SQLite file: synchronous, so binding and storing run on the pipeline's own thread.
    case sqlite(ReadingStore)
    /// A PostgreSQL store (a shard's, fenced to its holder): asynchronous, on the storing task.
    case postgresql(PostgresReadingStore)
}

/// The intake path as one service: MQTT batches → decode and bind to points → store with their figures.
///
/// It pulls batches as fast as storage commits them; while it is busy, messages wait in the MQTT
/// hand-off buffer, and once that is full the MQTT thread stops reading the socket, so back-pressure
/// reaches the broker instead of memory. On shutdown it stops the MQTT client, then stores whatever
/// was already received before returning.
public final class IntakePipeline: Service, Sendable {
    private let intake: MQTTIntake
    private let sink: ReadingSink
    private let metrics: StoreyMetrics
    private let logger: Logger
    private let binder: Mutex<ReadingBinder>
    /// The latest time the host has known, for refusing future timestamps (see `ReadingBinder.bind`).
    private let clock: SteadyWallClock
    private let refusals = RateLimitedLog(interval: 10)
    /// When storing the batch in hand began, retries included (nil while waiting for messages).
    private let busySince = Mutex<ContinuousClock.Instant?>(nil)
    /// Progress for the watchdog: when the current attempt to write began (nil between attempts).
    /// Waiting to retry a failed batch is not a hung write: the watchdog keeps being pinged, since a
    /// restart would not make room on a full disk.
    private let writingSince = Mutex<ContinuousClock.Instant?>(nil)
    /// Told of every stored batch, on the storing task: keep it short (rule evaluation only notes windows).
    private let observers = Mutex<[@Sendable (IngestResult) -> Void]>([])
    /// Binding and storing in SQLite are synchronous: they run on a thread of their own (`BlockingWork`).
    private let writer = BlockingWork(label: "storey.intake.writer")
    /// The writer's working memory, reused batch after batch; touched by one batch at a time.
    private final class Workspace: @unchecked Sendable {
        var scratch: [DecodedValue] = []
        var receipts = ReceiptTimes()
    }
    private let workspace = Workspace()
    /// The last attempt to store a batch failed (disk full, database locked): `/readyz` reports the
    /// store not writable until one succeeds. (A read probe alone would not notice a full disk.)
    private let storeFailing = Atomic<Bool>(false)
    /// The time (ms) of the newest reading stored so far, for the event stream's window closing.
    private let newestStored = Atomic<Int64>(.min)

    /// The time (milliseconds) of the newest reading stored since start, if any.
    public var newestReading: Int64? {
        let value = newestStored.load(ordering: .relaxed)
        return value == .min ? nil : value
    }

    public convenience init(
        intake: MQTTIntake, store: ReadingStore, configuration: Configuration, metrics: StoreyMetrics, logger: Logger,
        clock: SteadyWallClock = SteadyWallClock()
    ) {
        self.init(intake: intake, sink: .sqlite(store), configuration: configuration, metrics: metrics, logger: logger, clock: clock)
    }

    public init(
        intake: MQTTIntake, sink: ReadingSink, configuration: Configuration, metrics: StoreyMetrics, logger: Logger,
        clock: SteadyWallClock = SteadyWallClock()
    ) {
        self.intake = intake
        self.clock = clock
        self.sink = sink
        self.metrics = metrics
        self.logger = logger
        self.binder = Mutex(Self.binder(for: configuration))
    }

    static func binder(for configuration: Configuration) -> ReadingBinder {
        ReadingBinder(
            decoder: PayloadDecoder(maximumPayloadBytes: configuration.intake.maxPayloadBytes),
            futureTolerance: Int64(configuration.intake.futureTolerance * 1000))
    }

    /// Applies a reloaded configuration's intake limits (the topology goes to the store).
    public func apply(_ configuration: Configuration) {
        binder.withLock { $0 = Self.binder(for: configuration) }
    }

    /// Whether the last attempt to store a batch failed.
    public var isStoreFailing: Bool { storeFailing.load(ordering: .relaxed) }

    /// Not storing a batch at this moment.
    public var isIdle: Bool { busySince.withLock { $0 == nil } }

    /// Calls `observer` after every batch stored.
    public func onStored(_ observer: @escaping @Sendable (IngestResult) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// True unless a store write, or the intake journal's write of a message just received, has been
    /// running for longer than `limit`: the watchdog's question. (A disk that stops answering blocks the
    /// journal's write first, on the network loop, and then nothing reaches storage at all.)
    public func isMakingProgress(within limit: Duration) -> Bool {
        if intake.journal?.isStuck(longerThan: limit) == true { return false }
        guard let since = writingSince.withLock({ $0 }) else { return true }
        return ContinuousClock.now - since < limit
    }

    /// Runs the MQTT network thread and the storing loop together; on graceful shutdown the MQTT client
    /// stops receiving, and the loop stores what is already in hand before returning.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.intake.run() }
                group.addTask { try await self.drain() }
                try await group.waitForAll()
            }
        } onGracefulShutdown: {
            self.intake.stop()
        }
    }

    private func drain() async throws {
        // Received before the last stop and not stored then (the process was killed): first.
        if let unstored = intake.journal?.takeUnstored() {
            logger.notice("storing messages received before the last stop", metadata: ["messages": "\(unstored.count)"])
            try await store(unstored)
        }
        while let batch = await intake.nextBatch() {
            metrics.messagesReceived.increment(by: Int64(batch.count))
            busySince.withLock { $0 = .now }
            defer { busySince.withLock { $0 = nil } }
            try await store(batch)
        }
    }

    /// Stores one batch, retrying while storage fails (disk full, locked): the batch stays in hand and
    /// no more is read, so nothing received is dropped.
    private func store(_ batch: MQTTBatch) async throws {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                writingSince.withLock { $0 = .now }
                defer { writingSince.withLock { $0 = nil } }
                try await storeOnce(batch)
                storeFailing.store(false, ordering: .relaxed)
                return
            } catch {
                storeFailing.store(true, ordering: .relaxed)
                metrics.storeErrors.increment()
                refusals.record("store") { suppressed in
                    logger.error("cannot store readings; holding the batch and retrying", metadata: [
                        "error": "\(error)", "readings": "\(batch.count)", "suppressed": "\(suppressed)",
                    ])
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// One attempt: binds the batch's messages to readings and stores them with their figures, in one
    /// transaction.
    private func storeOnce(_ batch: MQTTBatch) async throws {
        let journal = batch.journalPosition.map { (generation: $0.generation, position: $0.offset) }
        let (result, binding): (IngestResult, BatchBinding)
        switch sink {
        case .sqlite(let store):
            (result, binding) = try await writer.run {
                var binding = self.binding(for: batch)
                let result = try store.ingest(journal: journal) { binding.bind(batch, topology: $0, scratch: &self.workspace.scratch) }
                return (result, binding)
            }
        case .postgresql(let store):
            var bound = self.binding(for: batch)
            result = try await store.ingest(journal: journal) { bound.bind(batch, topology: $0, scratch: &self.workspace.scratch) }
            binding = bound
        }
        recordStored(batch, result: result, binding: binding)
    }

    /// A retry binds afresh: receipt times given in a failed attempt are given again.
    private func binding(for batch: MQTTBatch) -> BatchBinding {
        BatchBinding(binder: binder.withLock { $0 }, latest: clock.now(), receipts: workspace.receipts)
    }

    private func recordStored(_ batch: MQTTBatch, result: IngestResult, binding: BatchBinding) {
        let (rejections, refusedTopics, newest, attemptReceipts) = (binding.rejections, binding.refusedTopics, binding.newest, binding.receipts)
        workspace.receipts = attemptReceipts
        workspace.receipts.forget(before: Int64(Date().timeIntervalSince1970 * 1000) - 1000)
        if let position = batch.journalPosition { intake.journal?.markStored(position) }
        for observer in observers.withLock({ $0 }) { observer(result) }
        if newest > newestStored.load(ordering: .relaxed) { newestStored.store(newest, ordering: .relaxed) }
        metrics.readingsAccepted.increment(by: Int64(result.stored))
        metrics.readingsDuplicate.increment(by: Int64(result.duplicates))
        metrics.batches.increment()
        for (event, count) in result.counterEvents {
            switch event {
            case .rollover: metrics.counterEvent("rollover", count: count)
            case .reset: metrics.counterEvent("reset", count: count)
            case .jump: metrics.counterEvent("jump", count: count)
            case .increase: break
            }
        }
        for reason in rejections { metrics.rejected(reason) }
        // One line per reason per interval, naming the latest topic and how many were not logged.
        for (reason, topic) in refusedTopics {
            refusals.record(reason.rawValue) { suppressed in
                logger.warning("reading refused", metadata: [
                    "reason": "\(reason.rawValue)", "topic": "\(topic)",
                    "suppressed": "\(suppressed)",
                ])
            }
        }
    }
}

/// One attempt at binding a batch's messages to readings, and what it refused on the way.
struct BatchBinding: Sendable {
    let binder: ReadingBinder
    let latest: Int64
    var receipts: ReceiptTimes
    var rejections: [RejectionReason] = []
    var refusedTopics: [(RejectionReason, String)] = []
    var newest = Int64.min

    init(binder: ReadingBinder, latest: Int64, receipts: ReceiptTimes) {
        self.binder = binder
        self.latest = latest
        self.receipts = receipts
    }

    mutating func bind(_ batch: MQTTBatch, topology: Topology, scratch: inout [DecodedValue]) -> [Reading] {
        var readings: [Reading] = []
        readings.reserveCapacity(batch.count)
        for index in 0..<batch.count {
            let before = rejections.count
            let topic = batch.topic(index)
            batch.withPayload(index) { payload in
                binder.bind(
                    topic: topic, payload: payload, now: batch.receivedAtMilliseconds(index), latest: latest, topology: topology,
                    scratch: &scratch, readings: &readings, rejections: &rejections, receipts: &receipts)
            }
            if rejections.count > before { refusedTopics.append((rejections[before], topic)) }
        }
        for reading in readings where reading.time > newest { newest = reading.time }
        return readings
    }
}
