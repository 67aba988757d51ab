import StoreyStore
import Synchronization

/// A delivery store that counts the engine's calls to it, to show how busy the engine keeps its database,
/// and keeps the slowest call of each kind, to show where a slow engine waits. It also keeps which
/// messages the engine read and recorded as delivered, and can hold one grouping read back (`stallNextGrouping`)
/// as another instance's lock would.
final class CountingStorage: DeliveryStorage {
    let store: any DeliveryStorage
    private let counted = Atomic<Int>(0)
    private let slowestCalls = Mutex<[String: (duration: Duration, endedAt: ContinuousClock.Instant)]>([:])
    private let readIDs = Mutex<Set<Int64>>([])
    private let deliveredIDs = Mutex<Set<Int64>>([])
    private let stall = Mutex<(@Sendable () async -> Void)?>(nil)
    var calls: Int { counted.load(ordering: .relaxed) }
    /// Messages the engine read (and, on a shared store, claimed).
    var read: Set<Int64> { readIDs.withLock { $0 } }
    /// Messages the engine recorded as delivered.
    var delivered: Set<Int64> { deliveredIDs.withLock { $0 } }

    /// The next grouping read runs `wait` first, as a pass would wait for another instance's lock.
    func stallNextGrouping(_ wait: @escaping @Sendable () async -> Void) {
        stall.withLock { $0 = wait }
    }

    init(_ store: any DeliveryStorage) {
        self.store = store
    }

    /// Each kind of call's longest duration, slowest first, and how long ago it ended.
    var slowest: String {
        let now = ContinuousClock.now
        return slowestCalls.withLock { $0 }.sorted { $0.value.duration > $1.value.duration }
            .map { "\($0.key) \($0.value.duration.milliseconds) ms, ended \((now - $0.value.endedAt).milliseconds) ms ago" }
            .joined(separator: "; ")
    }

    /// Runs one call of the store; `counts` is false for calls the engine's passes do not make.
    private func observe<T>(_ name: String, counts: Bool = true, _ call: () async throws -> T) async rethrows -> T {
        if counts { counted.add(1, ordering: .relaxed) }
        let started = ContinuousClock.now
        defer {
            let ended = ContinuousClock.now
            slowestCalls.withLock { slowest in
                if slowest[name].map({ $0.duration < ended - started }) ?? true { slowest[name] = (ended - started, ended) }
            }
        }
        return try await call()
    }

    func unroutedOutbox(limit: Int) async throws -> [OutboxEntry] {
        try await observe("unroutedOutbox") { try await store.unroutedOutbox(limit: limit) }
    }

    func recordRouting(_ items: [RoutedItem], rows: [Int64]) async throws {
        try await observe("recordRouting") { try await store.recordRouting(items, rows: rows) }
    }

    func waitingItems(limit: Int) async throws -> [WaitingItem] {
        try await observe("waitingItems") {
            if let wait = stall.withLock({ stall in defer { stall = nil }; return stall }) { await wait() }
            return try await store.waitingItems(limit: limit)
        }
    }

    func lastMessageAt(_ channels: [DeliveryChannel]) async throws -> [DeliveryChannel: Int64] {
        try await observe("lastMessageAt") { try await store.lastMessageAt(channels) }
    }

    func lastSent(_ episodes: [ChannelEpisode], kinds: [String]) async throws -> [ChannelEpisode: Int64] {
        try await observe("lastSent") { try await store.lastSent(episodes, kinds: kinds) }
    }

    func applyGrouping(_ messages: [NewMessage], skipped: [(DeliveryChannel, Int64, String)], held: [(DeliveryChannel, Int64)], now: Int64) async throws {
        try await observe("applyGrouping") { try await store.applyGrouping(messages, skipped: skipped, held: held, now: now) }
    }

    func dueMessages(receiver: String, recipient: String, now: Int64, limit: Int, excluding: Set<Int64>) async throws
        -> [(message: DeliveryMessageRecord, notifications: [OutboxEntry])]
    {
        try await observe("dueMessages") {
            let read = try await store.dueMessages(receiver: receiver, recipient: recipient, now: now, limit: limit, excluding: excluding)
            readIDs.withLock { $0.formUnion(read.map(\.message.id)) }
            return read
        }
    }

    func pendingEndpoints() async throws -> [(receiver: String, recipient: String)] {
        try await observe("pendingEndpoints") { try await store.pendingEndpoints() }
    }

    func nextAttemptAt() async throws -> Int64? {
        try await observe("nextAttemptAt") { try await store.nextAttemptAt() }
    }

    func record(_ outcomes: [DeliveryOutcome]) async throws {
        try await observe("record") {
            try await store.record(outcomes)
            deliveredIDs.withLock { delivered in
                for case .delivered(let id, _, _) in outcomes { delivered.insert(id) }
            }
        }
    }

    func renewClaims() async throws -> Bool {
        try await observe("renewClaims", counts: false) { try await store.renewClaims() }
    }

    func disabledReceivers() async throws -> [String: String] {
        try await observe("disabledReceivers") { try await store.disabledReceivers() }
    }

    func messages(state: DeliveryState?, limit: Int) async throws -> [DeliveryMessageRecord] {
        try await observe("messages", counts: false) { try await store.messages(state: state, limit: limit) }
    }

    func message(id: Int64) async throws -> DeliveryMessageRecord? {
        try await observe("message", counts: false) { try await store.message(id: id) }
    }

    func replay(_ id: Int64, now: Int64) async throws -> Bool {
        try await observe("replay", counts: false) { try await store.replay(id, now: now) }
    }

    func failureTotals() async throws -> [(receiver: String, state: DeliveryState, reason: String, messages: Int)] {
        try await observe("failureTotals", counts: false) { try await store.failureTotals() }
    }

    func statistics() async throws -> DeliveryQueueStatistics {
        try await observe("statistics") { try await store.statistics() }
    }

    func prune(deliveredBefore: Int64, deadBefore: Int64, chunk: Int) async throws -> DeliveryPruneCounts {
        try await observe("prune") { try await store.prune(deliveredBefore: deliveredBefore, deadBefore: deadBefore, chunk: chunk) }
    }
}
