import Foundation
import Hummingbird
import Logging
import StoreyConfig
import StoreyCore
import StoreyStore
import Synchronization

/// What the daemon is doing, as the operator's view shows it.
public struct DaemonStatus: Sendable, Equatable, Codable {
    public var brokerConnected: Bool
    public var storeWritable: Bool
    public init(brokerConnected: Bool, storeWritable: Bool) {
        self.brokerConnected = brokerConnected
        self.storeWritable = storeWritable
    }
}

/// The operator's view of a running Storey: the JSON API under `/api/v1`, the event stream and the
/// dashboard. It only reads: figures from the store, the topology in force, the daemon's status.
///
/// Every group of routes is added by `addRoutes(to:)` from its own file (`OperatorView+Topology.swift`,
/// `+Live`, `+Series`, `+Reports`, `+Events`, `+Alerts` with silences, `+Outbox`, `+Shards`).
public final class OperatorView: Sendable {
    /// Where figures, alerts and the outbox are read: the single instance's SQLite file, or an estate's
    /// shared PostgreSQL database.
    public let store: any OperatorStore
    public let events: EventHub
    public let access: AccessPolicy
    /// Fixed paths and their methods (for 405 and HEAD); routes added elsewhere declare theirs here too.
    public let knownPaths = KnownPaths()
    let status: @Sendable () -> DaemonStatus
    let clock: @Sendable () -> Int64
    private let snapshotState: Mutex<TopologySnapshot>
    /// Whose working hours apply where: reports count utilisation in working time only.
    private let workingTimesState: Mutex<WorkingTimeTable>
    /// Live-state answers of the last second, by building.
    let liveCache = ShortLivedCache()
    /// Series answers of the last second, by query.
    let seriesCache = ShortLivedCache()
    /// The topology document of this half hour.
    let topologyCache = ShortLivedCache()
    /// Where acknowledgements and silences go (the daemon's underuse monitor); nil: alerts are read-only.
    let alertDesk = Mutex<(any AlertDesk)?>(nil)
    /// Wakes delivery after a dead letter is replayed (`onOutboxReplayed`); nil: it polls.
    let outboxReplayed = Mutex<(@Sendable () -> Void)?>(nil)
    /// Who holds which shard, on an estate instance (`attachShards`); nil: a single instance, no shards.
    let shardSource = Mutex<(@Sendable () async throws -> ShardsJSON)?>(nil)

    /// Lets the alert routes change alerts through `desk`.
    public func attach(_ desk: any AlertDesk) {
        alertDesk.withLock { $0 = desk }
    }

    /// - Parameters:
    ///   - workingTimes: the configuration's working hours and holiday calendars (default: every minute is
    ///     working time).
    ///   - clock: now, in Unix seconds (tests pass their own).
    public convenience init(
        store: ReadingStore, topology: Topology, workingTimes: WorkingTimeTable = WorkingTimeTable(defaultHours: .always),
        access: AccessPolicy, events: EventHub,
        status: @escaping @Sendable () -> DaemonStatus,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.init(
            operatorStore: SQLiteOperatorStore(store), topology: topology, workingTimes: workingTimes, access: access, events: events,
            status: status, clock: clock)
    }

    public init(
        operatorStore store: any OperatorStore, topology: Topology, workingTimes: WorkingTimeTable = WorkingTimeTable(defaultHours: .always),
        access: AccessPolicy, events: EventHub,
        status: @escaping @Sendable () -> DaemonStatus,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.store = store
        self.events = events
        self.access = access
        self.status = status
        self.clock = clock
        self.snapshotState = Mutex(TopologySnapshot(topology))
        self.workingTimesState = Mutex(workingTimes)
    }

    /// The topology in force.
    public var snapshot: TopologySnapshot { snapshotState.withLock { $0 } }

    /// The working hours in force.
    public var workingTimes: WorkingTimeTable { workingTimesState.withLock { $0 } }

    /// Follows a reload: the new topology and token list (read by the caller, so a bad one refuses the reload).
    public func apply(topology: Topology, workingTimes: WorkingTimeTable? = nil, tokens: TokenTable?, openHealth: Bool) {
        snapshotState.withLock { $0 = TopologySnapshot(topology) }
        if let workingTimes { workingTimesState.withLock { $0 = workingTimes } }
        for cache in [liveCache, seriesCache, topologyCache] { cache.removeAll() }
        access.replace(tokens: tokens, openHealth: openHealth)
    }

    /// Reads the token list a configuration names (nil when it names none).
    public static func loadTokens(_ access: HTTPAccessConfiguration) throws -> TokenTable? {
        guard let reference = access.tokens else { return nil }
        let text = try reference.read()
        do {
            return try TokenTable.parse(text)
        } catch {
            throw TokenListError(description: "token list \(reference): \(error)")
        }
    }

    /// The middleware every route goes through: problem documents for every error, then tokens.
    public func addMiddleware<Context: RequestContext>(to router: Router<Context>) {
        router.add(middleware: ProblemMiddleware(known: knownPaths))
        router.add(middleware: BearerAuthMiddleware(access: access))
    }

    /// Adds `/api/v1/…` and the dashboard at `/`. Build the router with `.autoGenerateHeadEndpoints` so
    /// that HEAD is answered like GET without the body.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let api = router.group("api/v1")
        addTopologyRoutes(to: api)
        addLiveRoutes(to: api)
        addSeriesRoutes(to: api)
        addReportRoutes(to: api)
        addEventRoutes(to: api)
        addAlertRoutes(to: api)
        addOutboxRoutes(to: api)
        addShardRoutes(to: api)
        addDocumentRoutes(to: router, api: api)
        for path in ["topology", "live", "series", "reports/tenants", "reports/buildings", "events", "openapi.yaml"] {
            knownPaths.declare("/api/v1/" + path, [.get, .head])
        }
        for path in ["/", "/dashboard.js", "/dashboard.css"] { knownPaths.declare(path, [.get, .head]) }
    }
}

/// A token list that cannot be used; names the list and the line.
public struct TokenListError: Error, CustomStringConvertible {
    public var description: String
}

/// Answers kept for a moment: computed by the first request, shared by those within `maximumAge`.
///
/// With `servingStaleFor`, an answer past its age is still given for that long while one background
/// refresh makes the next: no request waits for a recomputation (under full intake a recomputation takes
/// tens of milliseconds, and would otherwise be some request's latency every second).
final class ShortLivedCache: Sendable {
    private struct Entry {
        var made: ContinuousClock.Instant
        var value: SharedAnswer
        var refreshing = false
    }
    private let entries = Mutex<[String: Entry]>([:])
    /// Kept at most: beyond, answers past their age go first, then all (keys may come from any query).
    private let capacity = 256

    /// The answer for `key`, made by `make` (the body; its tag is made with it, once per answer).
    func value(
        for key: String, maximumAge: Duration, servingStaleFor stale: Duration = .zero,
        make: @escaping @Sendable () throws -> Data
    ) throws -> SharedAnswer {
        enum Plan { case cached(SharedAnswer), refresh(SharedAnswer), compute }
        let now = ContinuousClock.now
        let plan = entries.withLock { entries -> Plan in
            guard let entry = entries[key] else { return .compute }
            let age = now - entry.made
            if age < maximumAge { return .cached(entry.value) }
            guard age < maximumAge + stale else { return .compute }
            if entry.refreshing { return .cached(entry.value) }
            entries[key]?.refreshing = true
            return .refresh(entry.value)
        }
        switch plan {
        case .cached(let value):
            return value
        case .refresh(let value):
            Task {
                let fresh = try? await BlockingWork.shared.run { SharedAnswer(try make()) }
                self.entries.withLock { entries in
                    if let fresh { entries[key] = Entry(made: .now, value: fresh) } else { entries[key]?.refreshing = false }
                }
            }
            return value
        case .compute:
            let value = SharedAnswer(try make())
            entries.withLock { entries in
                if entries.count >= capacity {
                    entries = entries.filter { now - $0.value.made < maximumAge + stale }
                    if entries.count >= capacity { entries.removeAll() }
                }
                entries[key] = Entry(made: .now, value: value)
            }
            return value
        }
    }

    func removeAll() { entries.withLock { $0.removeAll() } }
}
