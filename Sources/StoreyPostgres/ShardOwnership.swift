import Logging
import PostgresNIO
import Synchronization

/// Which shards of the estate this instance owns. An instance owns a shard while it holds that shard's
/// PostgreSQL advisory lock, on a connection of its own: the lock goes with the connection, so when an
/// instance dies (or its connection does) its shards are free at once, and another instance takes each
/// at its next try. No coordination of our own: the database's lock is the only truth.
///
/// An instance first tries the shards it is configured to own; as a standby it also tries every other
/// shard, after a grace period at start (so that an owner starting at the same time gets its own).
///
/// An owner back after a restart finds its shards held by the standby that took them over: it asks for
/// them (`shard_request`), and the standby hands each back — its intake stops after storing what it
/// holds, then the lock is released — so a rolling restart does not leave every shard on the standby.
public final class ShardOwnership: Sendable {
    public enum Change: Sendable, Equatable {
        case acquired(String)
        /// The connection holding the lock failed: the shard may already be another's.
        case lost(String)
        /// Given back to the instance configured to own it, which asked. The lock is released only once
        /// the handler of this change returns: it stops the shard's intake and stores what it holds first.
        case released(String)
    }

    public let instance: String
    /// Shards tried first, then `standbyFor`.
    public let preferred: [String]
    public let standbyFor: [String]
    private let database: PostgresStore
    private let retry: Duration
    private let standbyGrace: Duration
    /// The shards held on the current connection (`epoch` counts connections and give-ups) and when the
    /// connection last answered.
    private let state = Mutex(State())
    private struct State {
        var held: Set<String> = []
        var epoch = 0
        var confirmed = ContinuousClock.now
    }
    /// How long the lock connection may go unanswered before this instance gives up its shards.
    public let deadline: Duration
    private let logger: Logger

    public init(
        database: PostgresStore, instance: String, preferred: [String], standbyFor: [String] = [], retry: Duration = .seconds(1),
        standbyGrace: Duration? = nil
    ) {
        self.database = database
        self.instance = instance
        self.preferred = preferred
        self.standbyFor = standbyFor.filter { !preferred.contains($0) }
        self.retry = retry
        self.standbyGrace = standbyGrace ?? retry * 3
        deadline = max(retry * 5, .seconds(3))
        logger = database.logger
    }

    /// The shards held now.
    public var owned: Set<String> { state.withLock { $0.held } }

    /// Holds what it can until cancelled, telling `changes` each shard acquired or lost. Cancelling
    /// closes the connection, which releases every lock.
    public func run(_ changes: @escaping @Sendable (Change) async -> Void) async {
        let started = ContinuousClock.now
        var backoff = retry
        while !Task.isCancelled {
            let connection: PostgresConnection
            do {
                connection = try await database.dedicatedConnection(name: "storey shards \(instance)", keepalive: true)
                backoff = retry
            } catch {
                logger.warning("cannot connect to hold shard locks; retrying", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
                continue
            }
            let epoch = state.withLock { state in
                state.epoch += 1
                state.confirmed = ContinuousClock.now
                return state.epoch
            }
            // The locks live exactly as long as this connection. Three things end its turn, whichever comes
            // first: the connection closes, the lock loop fails, or the connection has not answered for
            // `deadline` (a query can wait without end on a connection the server has dropped: seen in
            // tests). The shards are given up at once; the tasks are then ended but not waited for, since a
            // stuck query must not keep this instance claiming shards.
            let (ended, end) = AsyncStream<Void>.makeStream()
            let watch = Task {
                _ = try? await connection.closeFuture.get()
                end.yield()
            }
            let loop = Task {
                do {
                    try await self.holdLocks(on: connection, epoch: epoch, started: started, changes)
                } catch {
                    if !Task.isCancelled {
                        self.logger.error(
                            "the connection holding shard locks failed: its shards are given up",
                            metadata: ["error": "\(String(reflecting: error))"])
                    }
                }
                end.yield()
            }
            let deadline = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.retry)
                    let silent = ContinuousClock.now - self.state.withLock { $0.confirmed }
                    if silent > self.deadline {
                        self.logger.error(
                            "the connection holding shard locks has not answered: its shards are given up",
                            metadata: ["seconds": "\(silent.components.seconds)"])
                        break
                    }
                }
                end.yield()
            }
            await withTaskCancellationHandler {
                for await _ in ended { break }
            } onCancel: {
                end.yield()
            }
            let lost = state.withLock { state in
                state.epoch += 1  // a late answer of the old loop changes nothing now
                defer { state.held.removeAll() }
                return state.held
            }
            for shard in lost.sorted() {
                logger.warning("shard lost", metadata: ["shard": "\(shard)", "instance": "\(instance)"])
                await changes(.lost(shard))
            }
            for task in [loop, deadline] { task.cancel() }
            watch.cancel()
            connection.close().whenComplete { _ in }
        }
    }

    /// Takes what it may, every `retry`, until the connection fails or the task is cancelled.
    private func holdLocks(
        on connection: PostgresConnection, epoch: Int, started: ContinuousClock.Instant, _ changes: @escaping @Sendable (Change) async -> Void
    ) async throws {
        while !Task.isCancelled {
            let standby = ContinuousClock.now - started >= standbyGrace
            // Shards their owners ask for: a standby neither takes them nor keeps them.
            let asked = try await requests(connection)
            for shard in owned.sorted() where !preferred.contains(shard) {
                guard let owner = asked[shard] else { continue }
                try await release(shard, to: owner, connection: connection, epoch: epoch, changes)
            }
            let wanted = preferred + (standby ? standbyFor.filter { asked[$0] == nil } : [])
            let mine = owned
            var refused: [String] = []
            for shard in wanted where !mine.contains(shard) {
                guard try await tryLock(shard, connection) else {
                    if preferred.contains(shard) { refused.append(shard) }
                    continue
                }
                let current = state.withLock { state in
                    guard state.epoch == epoch else { return false }
                    state.held.insert(shard)
                    return true
                }
                guard current else { return }
                logger.notice("shard acquired", metadata: ["shard": "\(shard)", "instance": "\(instance)"])
                await changes(.acquired(shard))
            }
            // Shows operators the holder still stands, and confirms the connection answers. A shard whose
            // batch is being stored is share-locked by the batch's fence check: it is skipped this round
            // rather than waited for, or a slow database would hold up the confirmation past `deadline`
            // and the instance would give up shards it holds (seen in the estate test, with the reading
            // table locked for 6 s).
            try await ask(for: refused, connection)
            try await connection.query("""
                UPDATE shard_owner SET seen_at = \(unescaped: PostgresDeliveryStore.serverNow)
                WHERE shard IN (
                    SELECT shard FROM shard_owner WHERE instance = \(instance) AND shard = ANY(\(Array(owned))) FOR UPDATE SKIP LOCKED)
                """, logger: logger)
            state.withLock { state in if state.epoch == epoch { state.confirmed = ContinuousClock.now } }
            try await Task.sleep(for: retry)
        }
    }

    /// Asks for `shards` (configured to own, held by another), and withdraws requests for the rest.
    private func ask(for shards: [String], _ connection: PostgresConnection) async throws {
        try await connection.query("""
            DELETE FROM shard_request WHERE instance = \(instance) AND NOT (shard = ANY(\(shards)))
            """, logger: logger)
        guard !shards.isEmpty else { return }
        try await connection.query("""
            INSERT INTO shard_request(shard, instance, asked_at)
            SELECT s, \(instance), \(unescaped: PostgresDeliveryStore.serverNow) FROM unnest(\(shards)) AS s
            ON CONFLICT (shard) DO UPDATE SET instance = excluded.instance, asked_at = excluded.asked_at
            """, logger: logger)
    }

    /// Shards asked for by other instances lately (within a few tries): shard → the instance asking.
    private func requests(_ connection: PostgresConnection) async throws -> [String: String] {
        let freshness = Int64((retry * 3).components.seconds * 1000 + (retry * 3).components.attoseconds / 1_000_000_000_000_000)
        var asked: [String: String] = [:]
        for try await (shard, owner) in try await connection.query("""
            SELECT shard, instance FROM shard_request
            WHERE instance <> \(instance) AND asked_at > \(unescaped: PostgresDeliveryStore.serverNow) - \(freshness)
            """, logger: logger
        ).decode((String, String).self) { asked[shard] = owner }
        return asked
    }

    /// Hands a shard back: the change is handled (its intake stopped, what it held stored), then the lock
    /// released for the asking owner to take.
    private func release(
        _ shard: String, to owner: String, connection: PostgresConnection, epoch: Int, _ changes: @escaping @Sendable (Change) async -> Void
    ) async throws {
        logger.notice("handing shard back to its owner", metadata: ["shard": "\(shard)", "instance": "\(instance)", "owner": "\(owner)"])
        await changes(.released(shard))
        let current = state.withLock { state in
            guard state.epoch == epoch else { return false }
            state.held.remove(shard)
            return true
        }
        guard current else { return }
        try await connection.query("SELECT pg_advisory_unlock(\(Self.lockClass), \(Self.lockKey(shard)))", logger: logger)
    }

    private func tryLock(_ shard: String, _ connection: PostgresConnection) async throws -> Bool {
        var locked = false
        let rows = try await connection.query(
            "SELECT pg_try_advisory_lock(\(Self.lockClass), \(Self.lockKey(shard)))", logger: logger)
        for try await value in rows.decode(Bool.self) { locked = value }
        guard locked else { return false }
        try await connection.query("""
            INSERT INTO shard_owner(shard, instance, since, seen_at)
            VALUES (\(shard), \(instance), \(unescaped: PostgresDeliveryStore.serverNow), \(unescaped: PostgresDeliveryStore.serverNow))
            ON CONFLICT (shard) DO UPDATE SET instance = excluded.instance, since = excluded.since, seen_at = excluded.seen_at
            """, logger: logger)
        return true
    }

    /// The advisory lock's two keys: Storey's class ("STOR") and the shard name's FNV-1a hash.
    static let lockClass: Int32 = 0x5354_4F52
    static func lockKey(_ shard: String) -> Int32 {
        var hash: UInt32 = 2_166_136_261
        for byte in shard.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int32(bitPattern: hash)
    }

    /// Who holds which shard, as the holders last wrote it: (instance, since, last seen), times in milliseconds.
    public static func owners(_ database: PostgresStore) async throws -> [String: (instance: String, since: Int64, seenAt: Int64)] {
        var owners: [String: (instance: String, since: Int64, seenAt: Int64)] = [:]
        let rows = try await database.client.query("SELECT shard, instance, since, seen_at FROM shard_owner", logger: database.logger)
        for try await (shard, instance, since, seenAt) in rows.decode((String, String, Int64, Int64).self) { owners[shard] = (instance, since, seenAt) }
        return owners
    }
}
