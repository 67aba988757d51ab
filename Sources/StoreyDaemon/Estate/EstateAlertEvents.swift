import Logging
import ServiceLifecycle
import StoreyAPI
import StoreyPostgres

/// The whole estate's alert transitions on this instance's event stream: every instance's monitors record
/// them in the shared store, and this reads them back by id twice a second (`TransitionFeed` keeps one
/// committed late from being missed). So a client of any instance's `/api/v1/events` sees an alert fired
/// or resolved on any other, within about half a second.
struct EstateAlertEvents: Service, CustomStringConvertible {
    var description: String { "EstateAlertEvents" }
    let alerts: PostgresAlertStore
    let view: OperatorView
    let now: @Sendable () -> Int64
    let logger: Logger
    var interval: Duration = .milliseconds(500)

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
                if failing { logger.notice("reading the estate's alert transitions again") }
                failing = false
            } catch {
                // Logged once per outage: the database is down for the whole instance, and says so elsewhere.
                if !failing { logger.warning("cannot read the estate's alert transitions for the event stream", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
