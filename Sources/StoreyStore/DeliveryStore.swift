import Foundation
import GRDB

/// One row of the outbox, as the alert side wrote it (read only here).
public struct OutboxEntry: Sendable, Equatable {
    public var id: Int64
    public var createdAt: Int64
    public var fingerprint: String
    public var kind: String
    /// JSON of `StoreyCore.AlertNotification`.
    public var notification: String

    public init(id: Int64, createdAt: Int64, fingerprint: String, kind: String, notification: String) {
        self.id = id
        self.createdAt = createdAt
        self.fingerprint = fingerprint
        self.kind = kind
        self.notification = notification
    }
}

/// An outbox row routed to one receiver (and, for email, one recipient).
public struct RoutedItem: Sendable, Equatable {
    public var outboxID: Int64
    public var receiver: String
    /// The email address, or "" for a webhook.
    public var recipient: String
    public var route: String
    public var groupKey: String
    public var fingerprint: String
    public var episode: Int
    public var kind: String
    public var routedAt: Int64

    public init(
        outboxID: Int64, receiver: String, recipient: String, route: String, groupKey: String, fingerprint: String, episode: Int,
        kind: String, routedAt: Int64
    ) {
        self.outboxID = outboxID
        self.receiver = receiver
        self.recipient = recipient
        self.route = route
        self.groupKey = groupKey
        self.fingerprint = fingerprint
        self.episode = episode
        self.kind = kind
        self.routedAt = routedAt
    }
}

/// Where one receiver's (and recipient's) messages go in order: a receiver, a recipient, a group.
public struct DeliveryChannel: Sendable, Hashable {
    public var receiver: String
    public var recipient: String
    public var groupKey: String
    public init(receiver: String, recipient: String, groupKey: String) {
        self.receiver = receiver
        self.recipient = recipient
        self.groupKey = groupKey
    }
}

/// One alert episode on one channel: what repeat intervals and mutes ask about.
public struct ChannelEpisode: Sendable, Hashable {
    public var channel: DeliveryChannel
    public var fingerprint: String
    public var episode: Int
    public init(channel: DeliveryChannel, fingerprint: String, episode: Int) {
        self.channel = channel
        self.fingerprint = fingerprint
        self.episode = episode
    }
}

/// A routed item not yet put in a message.
public struct WaitingItem: Sendable, Equatable {
    public var channel: DeliveryChannel
    public var route: String
    public var outboxID: Int64
    public var fingerprint: String
    public var episode: Int
    public var kind: String
    public var routedAt: Int64
    /// It waited for a mute to end.
    public var held: Bool

    public init(
        channel: DeliveryChannel, route: String, outboxID: Int64, fingerprint: String, episode: Int, kind: String, routedAt: Int64,
        held: Bool = false
    ) {
        self.channel = channel
        self.route = route
        self.outboxID = outboxID
        self.fingerprint = fingerprint
        self.episode = episode
        self.kind = kind
        self.routedAt = routedAt
        self.held = held
    }
}

/// A message to make from waiting items.
public struct NewMessage: Sendable, Equatable {
    public var channel: DeliveryChannel
    public var messageKey: String
    public var threadKey: String?
    public var items: [Int64]

    public init(channel: DeliveryChannel, messageKey: String, threadKey: String?, items: [Int64]) {
        self.channel = channel
        self.messageKey = messageKey
        self.threadKey = threadKey
        self.items = items
    }
}

public enum DeliveryState: String, Sendable, CaseIterable {
    case pending, delivered, dead
}

/// One message to one receiver (and recipient), with the id it keeps on every attempt.
public struct DeliveryMessageRecord: Sendable, Equatable {
    public var id: Int64
    public var channel: DeliveryChannel
    /// The webhook-id, or the mail's Message-ID.
    public var messageKey: String
    /// The Message-ID a mail answers (In-Reply-To / References), if any.
    public var threadKey: String?
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var lastReason: String?
    public var createdAt: Int64
    public var deliveredAt: Int64?
    public var deadAt: Int64?
    /// The outbox ids it carries, in order (filled by the listing queries).
    public var outboxIDs: [Int64] = []

    public init(
        id: Int64, channel: DeliveryChannel, messageKey: String, threadKey: String?, state: DeliveryState, attempts: Int, nextAttemptAt: Int64,
        lastError: String?, lastReason: String?, createdAt: Int64, deliveredAt: Int64?, deadAt: Int64?, outboxIDs: [Int64] = []
    ) {
        self.id = id
        self.channel = channel
        self.messageKey = messageKey
        self.threadKey = threadKey
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.lastReason = lastReason
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
        self.deadAt = deadAt
        self.outboxIDs = outboxIDs
    }
}

/// What is still to deliver, for metrics and `storey outbox`.
public struct DeliveryQueueStatistics: Sendable, Equatable {
    /// Outbox rows not routed yet, items waiting for their group or a mute, and messages not yet delivered.
    public var unrouted: Int
    public var waiting: Int
    public var pending: Int
    public var dead: Int
    /// Milliseconds since the Unix epoch: the outbox time of the oldest notification not yet delivered.
    public var oldestUndeliveredAt: Int64?

    public init(unrouted: Int, waiting: Int, pending: Int, dead: Int, oldestUndeliveredAt: Int64?) {
        self.unrouted = unrouted
        self.waiting = waiting
        self.pending = pending
        self.dead = dead
        self.oldestUndeliveredAt = oldestUndeliveredAt
    }
}

/// The delivery side's progress on SQLite, beside the outbox it reads. Every step is one transaction, so
/// a crash at any point leaves either the step done or not begun; messages are made before they are
/// sent, so a resend after a crash carries the same id.
public final class DeliveryStore: DeliveryStorage {
    let pool: DatabasePool
    public let path: String

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        // Intake may hold the writer for a large batch; wait rather than fail.
        configuration.busyMode = .timeout(10)
        self.path = path
        pool = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrator.migrate(pool)
    }

    // MARK: Routing

    public func routingCursor() async throws -> Int64 {
        try await pool.read { db in try Self.cursor(db) }
    }

    private static func cursor(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM delivery_cursor WHERE name = 'routed'") ?? 0
    }

    /// Outbox rows after the routing cursor, in id order.
    public func unroutedOutbox(limit: Int) async throws -> [OutboxEntry] {
        try await pool.read { db in
            let cursor = try Self.cursor(db)
            return try Row.fetchAll(
                db, sql: "SELECT id, created_at, fingerprint, kind, notification FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [cursor, limit]
            ).map { OutboxEntry(id: $0[0], createdAt: $0[1], fingerprint: $0[2], kind: $0[3], notification: $0[4]) }
        }
    }

    /// Records the items routed from outbox rows `rows`, and moves the cursor past them, together. (On
    /// SQLite one writer at a time commits outbox rows, in id order: no row below the cursor can appear later.)
    public func recordRouting(_ items: [RoutedItem], rows: [Int64]) async throws {
        guard let cursor = rows.max() else { return }
        try await pool.write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO delivery_item(outbox_id, receiver, recipient, route, group_key, fingerprint, episode, kind, routed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for item in items {
                try insert.execute(arguments: [
                    item.outboxID, item.receiver, item.recipient, item.route, item.groupKey, item.fingerprint, item.episode, item.kind,
                    item.routedAt,
                ])
            }
            try db.execute(
                sql: "INSERT INTO delivery_cursor(name, value) VALUES ('routed', ?) ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)",
                arguments: [cursor])
        }
    }

    // MARK: Grouping

    /// Items not yet in a message, oldest first.
    public func waitingItems(limit: Int) async throws -> [WaitingItem] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT receiver, recipient, group_key, route, outbox_id, fingerprint, episode, kind, routed_at, held
                FROM delivery_item INDEXED BY delivery_item_waiting
                WHERE message IS NULL AND skipped IS NULL
                ORDER BY outbox_id LIMIT ?
                """, arguments: [limit]
            ).map {
                WaitingItem(
                    channel: DeliveryChannel(receiver: $0[0], recipient: $0[1], groupKey: $0[2]), route: $0[3], outboxID: $0[4],
                    fingerprint: $0[5], episode: $0[6], kind: $0[7], routedAt: $0[8], held: $0[9])
            }
        }
    }

    /// When each channel's latest message was made (a channel that never had one is left out).
    public func lastMessageAt(_ channels: [DeliveryChannel]) async throws -> [DeliveryChannel: Int64] {
        guard !channels.isEmpty else { return [:] }
        return try await pool.read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT created_at FROM delivery_message INDEXED BY delivery_message_by_group
                WHERE receiver = ? AND recipient = ? AND group_key = ? ORDER BY id DESC LIMIT 1
                """)
            var latest: [DeliveryChannel: Int64] = [:]
            for channel in channels {
                latest[channel] = try Int64.fetchOne(statement, arguments: [channel.receiver, channel.recipient, channel.groupKey])
            }
            return latest
        }
    }

    /// When each episode last went out to its receiver and recipient in a message carrying one of `kinds`
    /// (an episode never sent is left out).
    public func lastSent(_ episodes: [ChannelEpisode], kinds: [String]) async throws -> [ChannelEpisode: Int64] {
        guard !episodes.isEmpty else { return [:] }
        return try await pool.read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT MAX(m.created_at) FROM delivery_item i INDEXED BY delivery_item_by_alert JOIN delivery_message m ON m.id = i.message
                WHERE i.receiver = ? AND i.recipient = ? AND i.fingerprint = ? AND i.episode = ? AND i.kind IN (\(databaseQuestionMarks(count: kinds.count)))
                """)
            var latest: [ChannelEpisode: Int64] = [:]
            for episode in episodes {
                var arguments: StatementArguments = [episode.channel.receiver, episode.channel.recipient, episode.fingerprint, episode.episode]
                arguments += StatementArguments(kinds)
                latest[episode] = try Int64.fetchOne(statement, arguments: arguments)
            }
            return latest
        }
    }

    /// Applies one grouping pass in one transaction: new messages, skipped items, items held by a mute.
    public func applyGrouping(_ messages: [NewMessage], skipped: [(DeliveryChannel, Int64, String)], held: [(DeliveryChannel, Int64)], now: Int64) async throws {
        guard !messages.isEmpty || !skipped.isEmpty || !held.isEmpty else { return }
        try await pool.write { db in
            // As on PostgreSQL, where instances group side by side: only items still waiting change.
            let skip = try db.cachedStatement(sql: """
                UPDATE delivery_item SET skipped = ?
                WHERE outbox_id = ? AND receiver = ? AND recipient = ? AND message IS NULL AND skipped IS NULL
                """)
            for (channel, outboxID, reason) in skipped {
                try skip.execute(arguments: [reason, outboxID, channel.receiver, channel.recipient])
            }
            let hold = try db.cachedStatement(sql: "UPDATE delivery_item SET held = 1 WHERE outbox_id = ? AND receiver = ? AND recipient = ?")
            for (channel, outboxID) in held {
                try hold.execute(arguments: [outboxID, channel.receiver, channel.recipient])
            }
            let insert = try db.cachedStatement(sql: """
                INSERT INTO delivery_message(receiver, recipient, group_key, message_key, thread_key, state, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)
                """)
            let attach = try db.cachedStatement(sql: "UPDATE delivery_item SET message = ? WHERE outbox_id = ? AND receiver = ? AND recipient = ?")
            let waiting = try db.cachedStatement(sql: """
                SELECT 1 FROM delivery_item WHERE outbox_id = ? AND receiver = ? AND recipient = ? AND message IS NULL AND skipped IS NULL
                """)
            for message in messages where !message.items.isEmpty {
                let channel = message.channel
                let stillWaiting = try message.items.allSatisfy { outboxID in
                    try Bool.fetchOne(waiting, arguments: [outboxID, channel.receiver, channel.recipient]) ?? false
                }
                guard stillWaiting else { continue }
                try insert.execute(arguments: [channel.receiver, channel.recipient, channel.groupKey, message.messageKey, message.threadKey, now, now])
                let id = db.lastInsertedRowID
                for outboxID in message.items {
                    try attach.execute(arguments: [id, outboxID, channel.receiver, channel.recipient])
                }
            }
        }
    }

    // MARK: Sending

    /// Due messages of one receiver and recipient, each the oldest pending one of its channel (so an
    /// alert's notices stay in order), oldest first, with the outbox rows each carries, in order: one read
    /// for many sends, instead of one per message. Messages in `excluding` (in flight, or settled but not
    /// committed yet: their rows are stale) are left out.
    public func dueMessages(
        receiver: String, recipient: String, now: Int64, limit: Int, excluding: Set<Int64>
    ) async throws -> [(message: DeliveryMessageRecord, notifications: [OutboxEntry])] {
        try await pool.read { db in
            // Each channel's head from the pending index (one pass over the endpoint's pending messages).
            var messages = try Row.fetchAll(db, sql: """
                SELECT \(Self.messageColumns) FROM delivery_message m
                WHERE m.id IN (
                    SELECT MIN(id) FROM delivery_message INDEXED BY delivery_message_pending
                    WHERE state = 'pending' AND receiver = ? AND recipient = ? GROUP BY group_key)
                  AND m.next_attempt_at <= ?
                ORDER BY m.id LIMIT ?
                """, arguments: [receiver, recipient, now, limit + excluding.count]
            ).map(Self.message).filter { !excluding.contains($0.id) }
            messages = Array(messages.prefix(limit))
            guard !messages.isEmpty else { return [] }
            var carried: [Int64: [OutboxEntry]] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT i.message, o.id, o.created_at, o.fingerprint, o.kind, o.notification
                FROM delivery_item i INDEXED BY delivery_item_by_message JOIN outbox o ON o.id = i.outbox_id
                WHERE i.message IN (\(databaseQuestionMarks(count: messages.count))) ORDER BY i.message, o.id
                """, arguments: StatementArguments(messages.map(\.id)))
            while let row = try rows.next() {
                carried[row[0], default: []].append(OutboxEntry(id: row[1], createdAt: row[2], fingerprint: row[3], kind: row[4], notification: row[5]))
            }
            return messages.map { ($0, carried[$0.id] ?? []) }
        }
    }

    /// The receivers and recipients with pending messages (one may have left the configuration).
    public func pendingEndpoints() async throws -> [(receiver: String, recipient: String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT DISTINCT receiver, recipient FROM delivery_message INDEXED BY delivery_message_pending WHERE state = 'pending'
                """).map { (receiver: $0[0], recipient: $0[1]) }
        }
    }

    /// The earliest time a pending message becomes due (nil: nothing pending).
    public func nextAttemptAt() async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM delivery_message WHERE state = 'pending'")
        }
    }

    /// Commits outcomes in one transaction, in order. Only pending messages change: an outcome for a
    /// message an operator acted on meanwhile is dropped.
    public func record(_ outcomes: [DeliveryOutcome]) async throws {
        guard !outcomes.isEmpty else { return }
        try await pool.write { db in
            for outcome in outcomes {
                switch outcome {
                case .delivered(let id, let attempts, let at):
                    try db.cachedStatement(sql: """
                        UPDATE delivery_message SET state = 'delivered', attempts = ?, delivered_at = ?, last_error = NULL
                        WHERE id = ? AND state = 'pending'
                        """).execute(arguments: [attempts, at, id])
                case .failed(let id, let attempts, let reason, let error, let nextAttemptAt?, _):
                    try db.cachedStatement(sql: """
                        UPDATE delivery_message SET attempts = ?, last_reason = ?, last_error = ?, next_attempt_at = ?
                        WHERE id = ? AND state = 'pending'
                        """).execute(arguments: [attempts, reason, error, nextAttemptAt, id])
                case .failed(let id, let attempts, let reason, let error, nil, let at):
                    try db.cachedStatement(sql: """
                        UPDATE delivery_message SET state = 'dead', attempts = ?, last_reason = ?, last_error = ?, dead_at = ?
                        WHERE id = ? AND state = 'pending'
                        """).execute(arguments: [attempts, reason, error, at, id])
                case .postponed(let id, let until):
                    try db.cachedStatement(sql: """
                        UPDATE delivery_message SET next_attempt_at = MAX(next_attempt_at, ?) WHERE id = ? AND state = 'pending'
                        """).execute(arguments: [until, id])
                case .receiverDisabled(let name, let reason, let at):
                    try db.cachedStatement(sql: """
                        INSERT INTO delivery_receiver(name, disabled_at, reason) VALUES (?, ?, ?)
                        ON CONFLICT(name) DO UPDATE SET disabled_at = excluded.disabled_at, reason = excluded.reason
                        """).execute(arguments: [name, at, reason])
                }
            }
        }
    }

    // MARK: Receivers

    /// Receivers disabled (by a 410), with why.
    public func disabledReceivers() async throws -> [String: String] {
        try await pool.read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, reason FROM delivery_receiver WHERE disabled_at IS NOT NULL") {
                result[row[0]] = row[1] ?? "disabled"
            }
            return result
        }
    }

    // MARK: Listing and replay (storey outbox)

    public func messages(state: DeliveryState?, limit: Int) async throws -> [DeliveryMessageRecord] {
        try await pool.read { db in
            let filter = state == nil ? "" : "WHERE m.state = ?"
            let arguments: StatementArguments = state.map { [$0.rawValue, limit] } ?? [limit]
            var records = try Row.fetchAll(
                db, sql: "SELECT \(Self.messageColumns) FROM delivery_message m \(filter) ORDER BY m.id DESC LIMIT ?", arguments: arguments
            ).map(Self.message)
            for index in records.indices {
                records[index].outboxIDs = try Int64.fetchAll(
                    db, sql: "SELECT outbox_id FROM delivery_item WHERE message = ? ORDER BY outbox_id", arguments: [records[index].id])
            }
            return records.reversed()
        }
    }

    /// Sends a dead letter again from its first attempt (and enables its receiver if a 410 disabled it).
    /// Returns false if there is no dead message with that id.
    public func replay(_ id: Int64, now: Int64) async throws -> Bool {
        try await pool.write { db in
            guard let receiver = try String.fetchOne(db, sql: "SELECT receiver FROM delivery_message WHERE id = ? AND state = 'dead'", arguments: [id])
            else { return false }
            try db.execute(sql: """
                UPDATE delivery_message SET state = 'pending', attempts = 0, next_attempt_at = ?, dead_at = NULL, created_at = ?
                WHERE id = ?
                """, arguments: [now, now, id])
            try db.execute(sql: "UPDATE delivery_receiver SET disabled_at = NULL, reason = NULL WHERE name = ?", arguments: [receiver])
            return true
        }
    }

    /// Undelivered messages that have failed at least once, totalled by receiver, state and the reason of
    /// their last failure: where an operator looks first when the queue grows.
    public func failureTotals() async throws -> [(receiver: String, state: DeliveryState, reason: String, messages: Int)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT receiver, state, last_reason, COUNT(*) FROM delivery_message
                WHERE state IN ('pending', 'dead') AND last_reason IS NOT NULL
                GROUP BY receiver, state, last_reason ORDER BY receiver, state, COUNT(*) DESC
                """).compactMap { row in
                guard let state = DeliveryState(rawValue: row[1]) else { return nil }
                return (receiver: row[0], state: state, reason: row[2], messages: row[3])
            }
        }
    }

    public func statistics() async throws -> DeliveryQueueStatistics {
        try await pool.read { db in
            let cursor = try Self.cursor(db)
            let unrouted = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE id > ?", arguments: [cursor]) ?? 0
            let waiting = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM delivery_item INDEXED BY delivery_item_waiting WHERE message IS NULL AND skipped IS NULL") ?? 0
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM delivery_message WHERE state = 'pending'") ?? 0
            let dead = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM delivery_message WHERE state = 'dead'") ?? 0
            let oldestUnrouted = try Int64.fetchOne(db, sql: "SELECT created_at FROM outbox WHERE id > ? ORDER BY id LIMIT 1", arguments: [cursor])
            let oldestWaiting = try Int64.fetchOne(db, sql: """
                SELECT MIN(o.created_at) FROM delivery_item i INDEXED BY delivery_item_waiting JOIN outbox o ON o.id = i.outbox_id
                WHERE i.message IS NULL AND i.skipped IS NULL
                """)
            // The oldest pending message (messages are made in outbox order) carries the oldest notification.
            let oldestPending = try Int64.fetchOne(db, sql: """
                SELECT MIN(o.created_at) FROM delivery_item i JOIN outbox o ON o.id = i.outbox_id
                WHERE i.message = (SELECT MIN(id) FROM delivery_message WHERE state = 'pending')
                """)
            let oldest = [oldestUnrouted, oldestWaiting, oldestPending].compactMap { $0 }.min()
            return DeliveryQueueStatistics(unrouted: unrouted, waiting: waiting, pending: pending, dead: dead, oldestUndeliveredAt: oldest)
        }
    }

    static let messageColumns = """
        m.id, m.receiver, m.recipient, m.group_key, m.message_key, m.thread_key, m.state, m.attempts, m.next_attempt_at,
        m.last_error, m.last_reason, m.created_at, m.delivered_at, m.dead_at
        """

    static func message(_ row: Row) -> DeliveryMessageRecord {
        DeliveryMessageRecord(
            id: row[0], channel: DeliveryChannel(receiver: row[1], recipient: row[2], groupKey: row[3]), messageKey: row[4],
            threadKey: row[5], state: DeliveryState(rawValue: row[6]) ?? .pending, attempts: row[7], nextAttemptAt: row[8],
            lastError: row[9], lastReason: row[10], createdAt: row[11], deliveredAt: row[12], deadAt: row[13])
    }
}
