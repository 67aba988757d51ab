/// The delivery side's progress, beside the outbox it reads, as the delivery engine and `storey outbox`
/// use it: on SQLite (`DeliveryStore`, one instance) or PostgreSQL (`PostgresDeliveryStore` in
/// StoreyPostgres, shared by several instances). Every call is one transaction: a crash at any point
/// leaves a step done or not begun, and messages are made before they are sent, so a resend carries
/// the same id. Times are milliseconds since the Unix epoch.
public protocol DeliveryStorage: Sendable {
    // Routing
    /// Outbox rows not routed yet, in id order.
    func unroutedOutbox(limit: Int) async throws -> [OutboxEntry]
    /// Records the items routed from the outbox rows `rows` (as read by `unroutedOutbox`) and marks those
    /// rows routed, together. Routing a row twice adds nothing.
    func recordRouting(_ items: [RoutedItem], rows: [Int64]) async throws

    // Grouping
    /// Items not yet in a message, oldest first.
    func waitingItems(limit: Int) async throws -> [WaitingItem]
    /// When each channel's latest message was made (a channel that never had one is left out). All at
    /// once: a pass asks about every gathering channel with waiting items.
    func lastMessageAt(_ channels: [DeliveryChannel]) async throws -> [DeliveryChannel: Int64]
    /// When each episode last went out to its receiver and recipient in a message carrying one of `kinds`
    /// (an episode never sent is left out).
    func lastSent(_ episodes: [ChannelEpisode], kinds: [String]) async throws -> [ChannelEpisode: Int64]
    /// Applies one grouping pass: new messages, skipped items (and why), items held by a mute.
    func applyGrouping(_ messages: [NewMessage], skipped: [(DeliveryChannel, Int64, String)], held: [(DeliveryChannel, Int64)], now: Int64) async throws

    // Sending
    /// Due messages of one receiver and recipient, each the oldest pending one of its channel (an alert's
    /// notices stay in order), oldest first, with the outbox rows each carries; none in `excluding`.
    func dueMessages(receiver: String, recipient: String, now: Int64, limit: Int, excluding: Set<Int64>) async throws
        -> [(message: DeliveryMessageRecord, notifications: [OutboxEntry])]
    /// The receivers and recipients with pending messages (one may have left the configuration).
    func pendingEndpoints() async throws -> [(receiver: String, recipient: String)]
    /// The earliest time a pending message becomes due (nil: nothing pending).
    func nextAttemptAt() async throws -> Int64?
    /// Commits outcomes together, in order; only pending messages change.
    func record(_ outcomes: [DeliveryOutcome]) async throws
    /// Keeps the messages this instance claimed its own (a store shared by several instances); called by
    /// every delivery pass, so claims hold only while the instance makes progress. Returns true when claims
    /// may have lapsed since the last renewal (the passes fell behind by more than a lease): a message read
    /// before may be another instance's now, and must be read again rather than sent.
    @discardableResult
    func renewClaims() async throws -> Bool
    /// Receivers disabled (by a 410), with why.
    func disabledReceivers() async throws -> [String: String]

    // Listing, replay, figures (storey outbox, /metrics)
    func messages(state: DeliveryState?, limit: Int) async throws -> [DeliveryMessageRecord]
    /// One message by its id, with the outbox ids it carries (nil: no such message).
    func message(id: Int64) async throws -> DeliveryMessageRecord?
    /// Sends a dead letter again from its first attempt; false if there is no dead message with that id.
    func replay(_ id: Int64, now: Int64) async throws -> Bool
    func failureTotals() async throws -> [(receiver: String, state: DeliveryState, reason: String, messages: Int)]
    func statistics() async throws -> DeliveryQueueStatistics

    // Retention
    /// Removes delivered messages and dead letters past their retention, skipped items, and outbox rows
    /// nothing refers to any more, in chunks; nothing undelivered.
    @discardableResult
    func prune(deliveredBefore: Int64, deadBefore: Int64, chunk: Int) async throws -> DeliveryPruneCounts
}

extension DeliveryStorage {
    /// A store of one instance claims nothing.
    @discardableResult
    public func renewClaims() async throws -> Bool { false }

    public func dueMessages(receiver: String, recipient: String, now: Int64, limit: Int) async throws
        -> [(message: DeliveryMessageRecord, notifications: [OutboxEntry])]
    {
        try await dueMessages(receiver: receiver, recipient: recipient, now: now, limit: limit, excluding: [])
    }

    @discardableResult
    public func prune(deliveredBefore: Int64, deadBefore: Int64) async throws -> DeliveryPruneCounts {
        try await prune(deliveredBefore: deliveredBefore, deadBefore: deadBefore, chunk: 2000)
    }
}
