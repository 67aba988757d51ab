import Logging
import ServiceLifecycle
import StoreyAPI
import StoreyPostgres
import Synchronization

/// What this instance's event stream needs of the rest of the estate, read from the shared store twice a
/// second:
/// - every instance's alert transitions, by id (`TransitionFeed` keeps one committed late from being
///   missed), published as `alert` events, so a client of any instance sees an alert fired or resolved
///   on any other within about half a second;
/// - the estate's newest stored reading, by which `WindowEventSource` closes windows: a standby holding
///   no shard, or an instance whose own shards are quiet, still streams the estate's window figures.
final class EstateEvents: Service, Sendable, CustomStringConvertible {
    var description: String { "EstateEvents" }
    private let alerts: PostgresAlertStore
    private let readings: PostgresReadingStore
    private let view: OperatorView
    private let now: @Sendable () -> Int64
    private let logger: Logger
    private let interval: Duration
    private let newest = Atomic<Int64>(.min)

    init(
        alerts: PostgresAlertStore, readings: PostgresReadingStore, view: OperatorView, now: @escaping @Sendable () -> Int64, logger: Logger,
        interval: Duration = .milliseconds(500)
    ) {
        self.alerts = alerts
        self.readings = readings
        self.view = view
        self.now = now
        self.logger = logger
        self.interval = interval
    }

    /// The time (milliseconds) of the newest reading any instance has stored, as last read.
    var newestReading: Int64? {
        let value = newest.load(ordering: .relaxed)
        return value == .min ? nil : value
    }

    func run() async throws {
        var feed: TransitionFeed?
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // From what is recorded when it starts: history is the API's to answer.
                if feed == nil { feed = TransitionFeed(floor: try await alerts.newestTransitionID()) }
                let records = try await alerts.transitions(above: feed!.floor)
                let fresh = Set(feed!.take(records.map(\.id), now: now()))
                if !fresh.isEmpty { view.publishAlertEvents(records.filter { fresh.contains($0.id) }) }
                if let time = try await readings.newestReadingInEstate() { newest.store(time, ordering: .relaxed) }
                if failing { logger.notice("reading the estate's alert transitions and newest reading again") }
                failing = false
            } catch {
                // Logged once per outage: the database being down is said elsewhere (readiness, intake).
                if !failing { logger.warning("cannot read the estate's alert transitions and newest reading for the event stream", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
