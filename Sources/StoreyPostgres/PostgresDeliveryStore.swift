import Logging
import PostgresNIO
import StoreyStore
import Synchronization

/// The delivery side's progress on PostgreSQL, shared by several instances: the same steps as SQLite's
/// `DeliveryStore`, made safe to run side by side with PostgreSQL's own primitives.
/// - Routing marks the rows it routed (locked `FOR UPDATE SKIP LOCKED`: rows another instance is routing
///   are its own), so two instances routing at once, or one routing a row read before another finished
///   with it, add nothing twice.
/// - Grouping takes a transaction-scoped advisory lock and makes a message only of items still waiting.
/// - Sending claims each due message (`FOR UPDATE SKIP LOCKED`, then `claimed_by`): one instance sends
///   it. A claim lasts `claimLease` and is renewed by the instance's delivery passes (`renewClaims`); the
///   messages of an instance that died, or whose engine stopped making progress, are taken by another once
///   its claims lapse (and sent with the same id).
/// Claim times are the database server's clock, the one clock every instance shares.
public final class PostgresDeliveryStore: DeliveryStorage {
    public let database: PostgresStore
    /// This instance's name in claims.
    public let instance: String
    /// How long a claim holds without renewal, in milliseconds.
    public let claimLease: Int64
    /// When the last renewal of this instance's claims that succeeded began.
    private let renewedAt = Mutex<ContinuousClock.Instant?>(nil)

    /// Any constant: the advisory lock one grouping pass holds for its transaction.
    static let groupingLock: Int64 = 0x5354_4F52_4559_0002
    /// The server's time in milliseconds since the Unix epoch.
    static let serverNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

    public init(database: PostgresStore, instance: String, claimLease: Int64 = 30_000) {
        self.database = database
        self.instance = instance
        self.claimLease = claimLease
    }

    private var client: PostgresClient { database.client }
    private var logger: Logger { database.logger }

    // MARK: Routing

    public func unroutedOutbox(limit: Int) async throws -> [OutboxEntry] {
        let rows = try await client.query("""
            SELECT id, created_at, fingerprint, kind, notification FROM outbox WHERE NOT routed ORDER BY id LIMIT \(limit)
            """, logger: logger)
        var entries: [OutboxEntry] = []
        for try await (id, createdAt, fingerprint, kind, notification) in rows.decode((Int64, Int64, String, String, String).self) {
            entries.append(OutboxEntry(id: id, createdAt: createdAt, fingerprint: fingerprint, kind: kind, notification: notification))
        }
        return entries
    }

    public func recordRouting(_ items: [RoutedItem], rows: [Int64]) async throws {
        guard !rows.isEmpty else { return }
        try await database.transaction { connection in
            // Only rows still unrouted once locked: another instance may have routed (and even delivered
            // and pruned) some since they were read. Rows another instance is routing right now are left
            // to it rather than waited for (seen: 1.5 s under load); were its transaction undone, they are
            // still unrouted at the next pass.
            var open = Set<Int64>()
            let locked = try await connection.query(
                "SELECT id FROM outbox WHERE id = ANY(\(rows)) AND NOT routed FOR UPDATE SKIP LOCKED", logger: logger)
            for try await id in locked.decode(Int64.self) { open.insert(id) }
            // One statement for them all: a routing pass holds those rows' locks while it writes.
            let routed = items.filter { open.contains($0.outboxID) }
            if !routed.isEmpty {
                try await connection.query("""
                    INSERT INTO delivery_item(outbox_id, receiver, recipient, route, group_key, fingerprint, episode, kind, routed_at)
                    SELECT * FROM unnest(\(routed.map(\.outboxID)), \(routed.map(\.receiver)), \(routed.map(\.recipient)), \(routed.map(\.route)),
                        \(routed.map(\.groupKey)), \(routed.map(\.fingerprint)), \(routed.map { Int64($0.episode) }), \(routed.map(\.kind)),
                        \(routed.map(\.routedAt)))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            try await connection.query("UPDATE outbox SET routed = true WHERE id = ANY(\(Array(open)))", logger: logger)
        }
    }

    // MARK: Grouping

    public func waitingItems(limit: Int) async throws -> [WaitingItem] {
        let rows = try await client.query("""
            SELECT receiver, recipient, group_key, route, outbox_id, fingerprint, episode, kind, routed_at, held
            FROM delivery_item WHERE message IS NULL AND skipped IS NULL
            ORDER BY outbox_id LIMIT \(limit)
            """, logger: logger)
        var items: [WaitingItem] = []
        for try await (receiver, recipient, groupKey, route, outboxID, fingerprint, episode, kind, routedAt, held)
            in rows.decode((String, String, String, String, Int64, String, Int, String, Int64, Bool).self)
        {
            items.append(WaitingItem(
                channel: DeliveryChannel(receiver: receiver, recipient: recipient, groupKey: groupKey), route: route, outboxID: outboxID,
                fingerprint: fingerprint, episode: episode, kind: kind, routedAt: routedAt, held: held))
        }
        return items
    }

    /// One query for all the channels (a query each made a pass with many waiting alerts slow).
    public func lastMessageAt(_ channels: [DeliveryChannel]) async throws -> [DeliveryChannel: Int64] {
        guard !channels.isEmpty else { return [:] }
        let rows = try await client.query("""
            SELECT u.receiver, u.recipient, u.group_key,
                (SELECT m.created_at FROM delivery_message m
                 WHERE m.receiver = u.receiver AND m.recipient = u.recipient AND m.group_key = u.group_key ORDER BY m.id DESC LIMIT 1)
            FROM unnest(\(channels.map(\.receiver)), \(channels.map(\.recipient)), \(channels.map(\.groupKey))) AS u(receiver, recipient, group_key)
            """, logger: logger)
        var latest: [DeliveryChannel: Int64] = [:]
        for try await (receiver, recipient, groupKey, at) in rows.decode((String, String, String, Int64?).self) {
            latest[DeliveryChannel(receiver: receiver, recipient: recipient, groupKey: groupKey)] = at
        }
        return latest
    }

    /// One query for all the episodes.
    public func lastSent(_ episodes: [ChannelEpisode], kinds: [String]) async throws -> [ChannelEpisode: Int64] {
        guard !episodes.isEmpty else { return [:] }
        let rows = try await client.query("""
            SELECT u.n,
                (SELECT MAX(m.created_at) FROM delivery_item i JOIN delivery_message m ON m.id = i.message
                 WHERE i.receiver = u.receiver AND i.recipient = u.recipient AND i.fingerprint = u.fingerprint AND i.episode = u.episode
                   AND i.kind = ANY(\(kinds)))
            FROM unnest(\(episodes.map(\.channel.receiver)), \(episodes.map(\.channel.recipient)), \(episodes.map(\.fingerprint)),
                \(episodes.map { Int64($0.episode) })) WITH ORDINALITY AS u(receiver, recipient, fingerprint, episode, n)
            """, logger: logger)
        var latest: [ChannelEpisode: Int64] = [:]
        for try await (n, at) in rows.decode((Int64, Int64?).self) {
            if let at { latest[episodes[Int(n) - 1]] = at }
        }
        return latest
    }

    /// A handful of statements whatever the plan's size: every instance's grouping waits for this
    /// transaction's lock, and a statement per message made it last seconds under load.
    public func applyGrouping(_ messages: [NewMessage], skipped: [(DeliveryChannel, Int64, String)], held: [(DeliveryChannel, Int64)], now: Int64) async throws {
        guard !messages.isEmpty || !skipped.isEmpty || !held.isEmpty else { return }
        try await database.transaction { connection in
            // One grouping pass at a time across instances; under it, only items still waiting change.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.groupingLock))", logger: logger)
            if !skipped.isEmpty {
                try await connection.query("""
                    UPDATE delivery_item i SET skipped = u.reason
                    FROM unnest(\(skipped.map(\.1)), \(skipped.map(\.0.receiver)), \(skipped.map(\.0.recipient)), \(skipped.map(\.2)))
                        AS u(outbox_id, receiver, recipient, reason)
                    WHERE i.outbox_id = u.outbox_id AND i.receiver = u.receiver AND i.recipient = u.recipient
                      AND i.message IS NULL AND i.skipped IS NULL
                    """, logger: logger)
            }
            if !held.isEmpty {
                try await connection.query("""
                    UPDATE delivery_item i SET held = true
                    FROM unnest(\(held.map(\.1)), \(held.map(\.0.receiver)), \(held.map(\.0.recipient))) AS u(outbox_id, receiver, recipient)
                    WHERE i.outbox_id = u.outbox_id AND i.receiver = u.receiver AND i.recipient = u.recipient
                    """, logger: logger)
            }
            let candidates = messages.filter { !$0.items.isEmpty }
            guard !candidates.isEmpty else { return }
            // A message only of items still waiting: another instance may have grouped them first, and its
            // message carries them.
            let keys = candidates.flatMap { message in message.items.map { ItemKey(outboxID: $0, receiver: message.channel.receiver, recipient: message.channel.recipient) } }
            var waiting = Set<ItemKey>()
            let rows = try await connection.query("""
                SELECT i.outbox_id, i.receiver, i.recipient
                FROM delivery_item i JOIN unnest(\(keys.map(\.outboxID)), \(keys.map(\.receiver)), \(keys.map(\.recipient)))
                    AS u(outbox_id, receiver, recipient)
                    ON i.outbox_id = u.outbox_id AND i.receiver = u.receiver AND i.recipient = u.recipient
                WHERE i.message IS NULL AND i.skipped IS NULL
                """, logger: logger)
            for try await (outboxID, receiver, recipient) in rows.decode((Int64, String, String).self) {
                waiting.insert(ItemKey(outboxID: outboxID, receiver: receiver, recipient: recipient))
            }
            let made = candidates.filter { message in
                message.items.allSatisfy { waiting.contains(ItemKey(outboxID: $0, receiver: message.channel.receiver, recipient: message.channel.recipient)) }
            }
            guard !made.isEmpty else { return }
            // Ids in the plan's order: a channel's messages go out in id order.
            var ids: [Int64] = []
            for try await id in try await connection.query("""
                SELECT nextval(pg_get_serial_sequence('delivery_message', 'id')) FROM generate_series(1, \(made.count))
                """, logger: logger).decode(Int64.self) { ids.append(id) }
            ids.sort()
            try await connection.query("""
                INSERT INTO delivery_message(id, receiver, recipient, group_key, message_key, thread_key, state, next_attempt_at, created_at)
                OVERRIDING SYSTEM VALUE
                SELECT u.id, u.receiver, u.recipient, u.group_key, u.message_key, NULLIF(u.thread_key, ''), 'pending', \(now), \(now)
                FROM unnest(\(ids), \(made.map(\.channel.receiver)), \(made.map(\.channel.recipient)), \(made.map(\.channel.groupKey)),
                    \(made.map(\.messageKey)), \(made.map { $0.threadKey ?? "" })) AS u(id, receiver, recipient, group_key, message_key, thread_key)
                """, logger: logger)
            let carried = zip(ids, made).flatMap { id, message in message.items.map { (id, $0, message.channel) } }
            try await connection.query("""
                UPDATE delivery_item i SET message = u.message
                FROM unnest(\(carried.map(\.0)), \(carried.map(\.1)), \(carried.map(\.2.receiver)), \(carried.map(\.2.recipient)))
                    AS u(message, outbox_id, receiver, recipient)
                WHERE i.outbox_id = u.outbox_id AND i.receiver = u.receiver AND i.recipient = u.recipient
                """, logger: logger)
        }
    }

    /// One delivery item's key.
    private struct ItemKey: Hashable {
        var outboxID: Int64
        var receiver: String
        var recipient: String
    }

    // MARK: Sending

    /// Claims and returns the endpoint's due channel heads. A head claimed by another instance (being
    /// sent there) holds its channel back here too, so an alert's notices stay in order.
    public func dueMessages(receiver: String, recipient: String, now: Int64, limit: Int, excluding: Set<Int64>) async throws
        -> [(message: DeliveryMessageRecord, notifications: [OutboxEntry])]
    {
        try await database.transaction { connection in
            let claimed = try await connection.query("""
                WITH heads AS (
                    SELECT DISTINCT ON (group_key) id FROM delivery_message
                    WHERE state = 'pending' AND receiver = \(receiver) AND recipient = \(recipient)
                    ORDER BY group_key, id
                )
                UPDATE delivery_message m
                SET claimed_by = \(instance), claimed_until = \(unescaped: Self.serverNow) + \(claimLease)
                WHERE m.id IN (
                    SELECT d.id FROM delivery_message d JOIN heads h ON h.id = d.id
                    WHERE d.state = 'pending' AND d.next_attempt_at <= \(now) AND NOT d.id = ANY(\(Array(excluding)))
                      AND (d.claimed_by IS NULL OR d.claimed_by = \(instance) OR d.claimed_until <= \(unescaped: Self.serverNow))
                    ORDER BY d.id LIMIT \(limit)
                    FOR UPDATE OF d SKIP LOCKED)
                RETURNING \(unescaped: Self.messageColumns)
                """, logger: logger)
            var messages = try await Self.messages(claimed)
            messages.sort { $0.id < $1.id }
            guard !messages.isEmpty else { return [] }
            var carried: [Int64: [OutboxEntry]] = [:]
            let rows = try await connection.query("""
                SELECT i.message, o.id, o.created_at, o.fingerprint, o.kind, o.notification
                FROM delivery_item i JOIN outbox o ON o.id = i.outbox_id
                WHERE i.message = ANY(\(messages.map(\.id))) ORDER BY i.message, o.id
                """, logger: logger)
            for try await (message, id, createdAt, fingerprint, kind, notification) in rows.decode((Int64, Int64, Int64, String, String, String).self) {
                carried[message, default: []].append(OutboxEntry(id: id, createdAt: createdAt, fingerprint: fingerprint, kind: kind, notification: notification))
            }
            return messages.map { (message: $0, notifications: carried[$0.id] ?? []) }
        }
    }

    /// Extends this instance's claims by a lease, if a third of one passed since the last renewal (one slow
    /// pass does not lose them). The engine calls it on every pass rather than a timer of the store's own:
    /// claims then hold while the instance makes progress, not merely while its process lives. Returns true
    /// when the last renewal began a lease ago or more: claims made before it may have lapsed meanwhile
    /// (the server counts a lease from a moment after the renewal began here).
    @discardableResult
    public func renewClaims() async throws -> Bool {
        let now = ContinuousClock.now
        let last = renewedAt.withLock { $0 }
        if let last, now - last < .milliseconds(claimLease / 3) { return false }
        // Rows locked right now are skipped (the next renewal takes them): the one being settled by this
        // instance's outcome commit, say. Waiting for them, in whatever order, could deadlock with that commit.
        try await client.query("""
            UPDATE delivery_message SET claimed_until = \(unescaped: Self.serverNow) + \(claimLease)
            WHERE id IN (
                SELECT id FROM delivery_message WHERE claimed_by = \(instance) AND state = 'pending'
                ORDER BY id FOR UPDATE SKIP LOCKED)
            """, logger: logger)
        // Only a renewal that happened counts: after a failed one, claims still date from the one before.
        renewedAt.withLock { $0 = max($0 ?? now, now) }
        return last.map { now - $0 >= .milliseconds(claimLease) } ?? false
    }

    public func pendingEndpoints() async throws -> [(receiver: String, recipient: String)] {
        let rows = try await client.query("SELECT DISTINCT receiver, recipient FROM delivery_message WHERE state = 'pending'", logger: logger)
        var endpoints: [(receiver: String, recipient: String)] = []
        for try await (receiver, recipient) in rows.decode((String, String).self) { endpoints.append((receiver, recipient)) }
        return endpoints
    }

    public func nextAttemptAt() async throws -> Int64? {
        try await first(Int64?.self, client.query("SELECT MIN(next_attempt_at) FROM delivery_message WHERE state = 'pending'", logger: logger)) ?? nil
    }

    /// Commits outcomes together and lets go of the claims they settle: one statement per kind of outcome,
    /// not one per message (a batch of 64 held its rows for 64 round trips, and each channel's next
    /// message waits for that commit). Only pending messages this instance claimed (or nobody holds)
    /// change: one another instance took over meanwhile is its own. A batch settles a message once (the
    /// engine keeps a message out of reads until its outcome is committed); rows are taken in id order.
    public func record(_ outcomes: [DeliveryOutcome]) async throws {
        guard !outcomes.isEmpty else { return }
        var delivered: [(id: Int64, attempts: Int64, at: Int64)] = []
        var retried: [(id: Int64, attempts: Int64, reason: String, error: String, next: Int64)] = []
        var dead: [(id: Int64, attempts: Int64, reason: String, error: String, at: Int64)] = []
        var postponed: [(id: Int64, until: Int64)] = []
        var disabled: [(name: String, reason: String, at: Int64)] = []
        for outcome in outcomes {
            switch outcome {
            case .delivered(let id, let attempts, let at): delivered.append((id, Int64(attempts), at))
            case .failed(let id, let attempts, let reason, let error, let next?, _): retried.append((id, Int64(attempts), reason, error, next))
            case .failed(let id, let attempts, let reason, let error, nil, let at): dead.append((id, Int64(attempts), reason, error, at))
            case .postponed(let id, let until): postponed.append((id, until))
            case .receiverDisabled(let name, let reason, let at): disabled.append((name, reason, at))
            }
        }
        delivered.sort { $0.id < $1.id }
        retried.sort { $0.id < $1.id }
        dead.sort { $0.id < $1.id }
        postponed.sort { $0.id < $1.id }
        try await database.transaction { connection in
            if !delivered.isEmpty {
                try await connection.query("""
                    UPDATE delivery_message m SET state = 'delivered', attempts = u.attempts, delivered_at = u.at, last_error = NULL,
                        claimed_by = NULL, claimed_until = NULL
                    FROM unnest(\(delivered.map(\.id)), \(delivered.map(\.attempts)), \(delivered.map(\.at))) AS u(id, attempts, at)
                    WHERE m.id = u.id AND m.state = 'pending' AND (m.claimed_by IS NULL OR m.claimed_by = \(instance))
                    """, logger: logger)
            }
            if !retried.isEmpty {
                try await connection.query("""
                    UPDATE delivery_message m SET attempts = u.attempts, last_reason = u.reason, last_error = u.error,
                        next_attempt_at = u.next, claimed_by = NULL, claimed_until = NULL
                    FROM unnest(\(retried.map(\.id)), \(retried.map(\.attempts)), \(retried.map(\.reason)), \(retried.map(\.error)),
                        \(retried.map(\.next))) AS u(id, attempts, reason, error, next)
                    WHERE m.id = u.id AND m.state = 'pending' AND (m.claimed_by IS NULL OR m.claimed_by = \(instance))
                    """, logger: logger)
            }
            if !dead.isEmpty {
                try await connection.query("""
                    UPDATE delivery_message m SET state = 'dead', attempts = u.attempts, last_reason = u.reason, last_error = u.error,
                        dead_at = u.at, claimed_by = NULL, claimed_until = NULL
                    FROM unnest(\(dead.map(\.id)), \(dead.map(\.attempts)), \(dead.map(\.reason)), \(dead.map(\.error)), \(dead.map(\.at)))
                        AS u(id, attempts, reason, error, at)
                    WHERE m.id = u.id AND m.state = 'pending' AND (m.claimed_by IS NULL OR m.claimed_by = \(instance))
                    """, logger: logger)
            }
            if !postponed.isEmpty {
                try await connection.query("""
                    UPDATE delivery_message m SET next_attempt_at = GREATEST(m.next_attempt_at, u.until), claimed_by = NULL, claimed_until = NULL
                    FROM unnest(\(postponed.map(\.id)), \(postponed.map(\.until))) AS u(id, until)
                    WHERE m.id = u.id AND m.state = 'pending' AND (m.claimed_by IS NULL OR m.claimed_by = \(instance))
                    """, logger: logger)
            }
            // Rare (a 410), and in order: the last reason given stands.
            for (name, reason, at) in disabled {
                try await connection.query("""
                    INSERT INTO delivery_receiver(name, disabled_at, reason) VALUES (\(name), \(at), \(reason))
                    ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, reason = excluded.reason
                    """, logger: logger)
            }
        }
    }

    public func disabledReceivers() async throws -> [String: String] {
        let rows = try await client.query("SELECT name, reason FROM delivery_receiver WHERE disabled_at IS NOT NULL", logger: logger)
        var result: [String: String] = [:]
        for try await (name, reason) in rows.decode((String, String?).self) { result[name] = reason ?? "disabled" }
        return result
    }

    // MARK: Listing and replay (storey outbox)

    public func messages(state: DeliveryState?, limit: Int) async throws -> [DeliveryMessageRecord] {
        try await listed("""
            WHERE \(state?.rawValue)::text IS NULL OR m.state = \(state?.rawValue) ORDER BY m.id DESC LIMIT \(limit)
            """).reversed()
    }

    public func message(id: Int64) async throws -> DeliveryMessageRecord? {
        try await listed("WHERE m.id = \(id)").first
    }

    /// Messages with the outbox ids each carries, as `storey outbox` and the API list them; `filter` is
    /// the query's WHERE (and ORDER BY, LIMIT) on `delivery_message m`.
    private func listed(_ filter: PostgresQuery) async throws -> [DeliveryMessageRecord] {
        // The head binds nothing, so the filter's placeholders keep their numbers.
        let query = PostgresQuery(unsafeSQL: """
            SELECT \(Self.messageColumns),
                ARRAY(SELECT outbox_id FROM delivery_item WHERE message = m.id ORDER BY outbox_id)
            FROM delivery_message m \(filter.sql)
            """, binds: filter.binds)
        var records: [DeliveryMessageRecord] = []
        for try await c in try await client.query(query, logger: logger).decode(
            (Int64, String, String, String, String, String?, String, Int, Int64, String?, String?, Int64, Int64?, Int64?, [Int64]).self)
        {
            var record = Self.message((c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7, c.8, c.9, c.10, c.11, c.12, c.13))
            record.outboxIDs = c.14
            records.append(record)
        }
        return records
    }

    public func replay(_ id: Int64, now: Int64) async throws -> Bool {
        try await database.transaction { connection in
            guard let receiver = try await first(String.self, connection.query(
                "SELECT receiver FROM delivery_message WHERE id = \(id) AND state = 'dead' FOR UPDATE", logger: logger))
            else { return false }
            try await connection.query("""
                UPDATE delivery_message SET state = 'pending', attempts = 0, next_attempt_at = \(now), dead_at = NULL, created_at = \(now),
                    claimed_by = NULL, claimed_until = NULL
                WHERE id = \(id)
                """, logger: logger)
            try await connection.query("UPDATE delivery_receiver SET disabled_at = NULL, reason = NULL WHERE name = \(receiver)", logger: logger)
            return true
        }
    }

    public func failureTotals() async throws -> [(receiver: String, state: DeliveryState, reason: String, messages: Int)] {
        let rows = try await client.query("""
            SELECT receiver, state, last_reason, COUNT(*)::bigint FROM delivery_message
            WHERE state IN ('pending', 'dead') AND last_reason IS NOT NULL
            GROUP BY receiver, state, last_reason ORDER BY receiver, state, COUNT(*) DESC
            """, logger: logger)
        var totals: [(receiver: String, state: DeliveryState, reason: String, messages: Int)] = []
        for try await (receiver, state, reason, count) in rows.decode((String, String, String, Int).self) {
            guard let state = DeliveryState(rawValue: state) else { continue }
            totals.append((receiver, state, reason, count))
        }
        return totals
    }

    public func statistics() async throws -> DeliveryQueueStatistics {
        let rows = try await client.query("""
            SELECT
                (SELECT COUNT(*)::bigint FROM outbox WHERE NOT routed),
                (SELECT COUNT(*)::bigint FROM delivery_item WHERE message IS NULL AND skipped IS NULL),
                (SELECT COUNT(*)::bigint FROM delivery_message WHERE state = 'pending'),
                (SELECT COUNT(*)::bigint FROM delivery_message WHERE state = 'dead'),
                LEAST(
                    (SELECT MIN(created_at) FROM outbox WHERE NOT routed),
                    (SELECT MIN(o.created_at) FROM delivery_item i JOIN outbox o ON o.id = i.outbox_id
                     WHERE i.message IS NULL AND i.skipped IS NULL),
                    -- The oldest pending message (messages are made in outbox order) carries the oldest notification.
                    (SELECT MIN(o.created_at) FROM delivery_item i JOIN outbox o ON o.id = i.outbox_id
                     WHERE i.message = (SELECT MIN(id) FROM delivery_message WHERE state = 'pending')))
            """, logger: logger)
        for try await (unrouted, waiting, pending, dead, oldest) in rows.decode((Int, Int, Int, Int, Int64?).self) {
            return DeliveryQueueStatistics(unrouted: unrouted, waiting: waiting, pending: pending, dead: dead, oldestUndeliveredAt: oldest)
        }
        return DeliveryQueueStatistics(unrouted: 0, waiting: 0, pending: 0, dead: 0, oldestUndeliveredAt: nil)
    }

    // MARK: Rows

    static let messageColumns = """
        m.id, m.receiver, m.recipient, m.group_key, m.message_key, m.thread_key, m.state, m.attempts, m.next_attempt_at,
        m.last_error, m.last_reason, m.created_at, m.delivered_at, m.dead_at
        """

    typealias MessageColumns = (Int64, String, String, String, String, String?, String, Int, Int64, String?, String?, Int64, Int64?, Int64?)

    static func message(_ row: PostgresRow) throws -> DeliveryMessageRecord {
        message(try row.decode(MessageColumns.self))
    }

    static func message(_ c: MessageColumns) -> DeliveryMessageRecord {
        DeliveryMessageRecord(
            id: c.0, channel: DeliveryChannel(receiver: c.1, recipient: c.2, groupKey: c.3), messageKey: c.4, threadKey: c.5,
            state: DeliveryState(rawValue: c.6) ?? .pending, attempts: c.7, nextAttemptAt: c.8, lastError: c.9, lastReason: c.10,
            createdAt: c.11, deliveredAt: c.12, deadAt: c.13)
    }

    static func messages(_ rows: PostgresRowSequence) async throws -> [DeliveryMessageRecord] {
        var records: [DeliveryMessageRecord] = []
        for try await row in rows { records.append(try message(row)) }
        return records
    }
}
