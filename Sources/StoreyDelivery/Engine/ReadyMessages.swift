import StoreyStore

/// What a receiver's `max_concurrency` counts against: one receiver and one recipient ("" for a webhook).
public struct DeliveryEndpoint: Sendable, Hashable {
    public var receiver: String
    public var recipient: String
    public init(receiver: String, recipient: String) {
        self.receiver = receiver
        self.recipient = recipient
    }
}

/// A due message as read, with the outbox rows it carries: one read serves many sends.
struct ReadyMessage: Sendable, Equatable {
    var record: DeliveryMessageRecord
    var notifications: [OutboxEntry]
}

/// Due messages read but not started yet, per endpoint, oldest first, as a value.
///
/// Each endpoint is read on its own, so a slow receiver's backlog never fills the list a fast one draws
/// from (one shared list of the thousand oldest due messages held mostly mail, and webhooks waited for
/// it). An endpoint is read again only once its list ran dry, and then only if something changed since
/// its last read (`generation`: an outcome committed, messages made) or `rereadAfter` passed; starting
/// messages takes only from endpoints with room, so a completion costs no scan of what waits.
struct ReadyMessages: Sendable {
    /// Milliseconds after which an endpoint with nothing ready is read again even if nothing changed
    /// (a retry falling due, a breaker closing).
    static let rereadAfter: Int64 = 250

    private struct Queue: Sendable {
        /// Newest first, so the oldest is taken from the end.
        var messages: [ReadyMessage] = []
        var readAt: Int64 = 0
        var generation = -1
    }

    private var queues: [DeliveryEndpoint: Queue] = [:]

    init() {}

    /// Whether `endpoint` has nothing ready and is worth reading now.
    func needsRead(_ endpoint: DeliveryEndpoint, now: Int64, generation: Int) -> Bool {
        guard let queue = queues[endpoint] else { return true }
        return queue.messages.isEmpty && (queue.generation != generation || now - queue.readAt >= Self.rereadAfter)
    }

    /// Adds what a read of `endpoint` found (oldest first) behind what is still ready.
    mutating func refill(_ endpoint: DeliveryEndpoint, with messages: [ReadyMessage], now: Int64, generation: Int) {
        var queue = queues[endpoint] ?? Queue()
        queue.messages = messages.reversed() + queue.messages
        queue.readAt = now
        queue.generation = generation
        queues[endpoint] = queue
    }

    /// Takes the oldest ready message of `endpoint`.
    mutating func next(_ endpoint: DeliveryEndpoint) -> ReadyMessage? {
        queues[endpoint]?.messages.popLast()
    }

    /// The soonest an endpoint with nothing ready may be read again without a change (nil: none was read).
    var earliestReread: Int64? {
        queues.values.lazy.filter(\.messages.isEmpty).map { $0.readAt + Self.rereadAfter }.min()
    }

    /// How many messages are ready, over all endpoints.
    var count: Int { queues.values.reduce(0) { $0 + $1.messages.count } }

    /// Forgets everything read (after a reload: receivers, limits and routes may have changed).
    mutating func removeAll() {
        queues = [:]
    }
}
