import StoreyStore
import Synchronization

/// A delivery store that counts the engine's calls to it, to show how busy the engine keeps its database.
final class CountingStorage: DeliveryStorage {
    let store: any DeliveryStorage
    private let counted = Atomic<Int>(0)
    var calls: Int { counted.load(ordering: .relaxed) }

    init(_ store: any DeliveryStorage) {
        self.store = store
    }

    private func count() { counted.add(1, ordering: .relaxed) }

    func unroutedOutbox(limit: Int) async throws -> [OutboxEntry] {
        count()
        return try await store.unroutedOutbox(limit: limit)
    }

    func recordRouting(_ items: [RoutedItem], rows: [Int64]) async throws {
        count()
        try await store.recordRouting(items, rows: rows)
    }

    func waitingItems(limit: Int) async throws -> [WaitingItem] {
        count()
        return try await store.waitingItems(limit: limit)
    }

    func lastMessageAt(_ channel: DeliveryChannel) async throws -> Int64? {
        count()
        return try await store.lastMessageAt(channel)
    }

    func lastSent(receiver: String, recipient: String, fingerprint: String, episode: Int, kinds: [String]) async throws -> Int64? {
        count()
        return try await store.lastSent(receiver: receiver, recipient: recipient, fingerprint: fingerprint, episode: episode, kinds: kinds)
    }

    func applyGrouping(_ messages: [NewMessage], skipped: [(DeliveryChannel, Int64, String)], held: [(DeliveryChannel, Int64)], now: Int64) async throws {
        count()
        try await store.applyGrouping(messages, skipped: skipped, held: held, now: now)
    }

    func dueMessages(receiver: String, recipient: String, now: Int64, limit: Int, excluding: Set<Int64>) async throws
        -> [(message: DeliveryMessageRecord, notifications: [OutboxEntry])]
    {
        count()
        return try await store.dueMessages(receiver: receiver, recipient: recipient, now: now, limit: limit, excluding: excluding)
    }

    func pendingEndpoints() async throws -> [(receiver: String, recipient: String)] {
        count()
        return try await store.pendingEndpoints()
    }

    func nextAttemptAt() async throws -> Int64? {
        count()
        return try await store.nextAttemptAt()
    }

    func record(_ outcomes: [DeliveryOutcome]) async throws {
        count()
        try await store.record(outcomes)
    }

    func renewClaims() async throws {
        try await store.renewClaims()
    }

    func disabledReceivers() async throws -> [String: String] {
        count()
        return try await store.disabledReceivers()
    }

    func messages(state: DeliveryState?, limit: Int) async throws -> [DeliveryMessageRecord] {
        try await store.messages(state: state, limit: limit)
    }

    func message(id: Int64) async throws -> DeliveryMessageRecord? {
        try await store.message(id: id)
    }

    func replay(_ id: Int64, now: Int64) async throws -> Bool {
        try await store.replay(id, now: now)
    }

    func failureTotals() async throws -> [(receiver: String, state: DeliveryState, reason: String, messages: Int)] {
        try await store.failureTotals()
    }

    func statistics() async throws -> DeliveryQueueStatistics {
        count()
        return try await store.statistics()
    }

    func prune(deliveredBefore: Int64, deadBefore: Int64, chunk: Int) async throws -> DeliveryPruneCounts {
        count()
        return try await store.prune(deliveredBefore: deliveredBefore, deadBefore: deadBefore, chunk: chunk)
    }
}
