import Synchronization

/// Failed token attempts per client address: after `limit` wrong tokens within `window` seconds a client
/// is refused (429 with Retry-After) for `lockout` seconds, whatever token it sends, so a token cannot be
/// guessed faster than `limit` tries a lockout. A request with no token at all is not an attempt (the
/// dashboard asks before its user has typed one).
///
/// Times are seconds on any monotonic clock. The table keeps at most `maximumClients` addresses, so a
/// flood from many addresses costs bounded memory: the oldest entries go first.
public struct FailedTokenAttempts: Sendable {
    public var limit: Int
    public var window: Double
    public var lockout: Double
    public var maximumClients: Int

    struct Client {
        /// Start of the current counting window, and wrong tokens in it.
        var windowStart: Double
        var failures: Int
        var lockedUntil: Double?
        var lastSeen: Double
    }

    private(set) var clients: [String: Client] = [:]

    public init(limit: Int = 30, window: Double = 60, lockout: Double = 60, maximumClients: Int = 10_000) {
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self.maximumClients = maximumClients
    }

    /// Seconds until `client` may try again (at least 1), or nil when it may try now.
    public func retryAfter(client: String, now: Double) -> Int? {
        guard let until = clients[client]?.lockedUntil, until > now else { return nil }
        return max(1, Int((until - now).rounded(.up)))
    }

    /// Records a wrong token; returns true when this attempt locked the client out.
    @discardableResult
    public mutating func recordFailure(client: String, now: Double) -> Bool {
        var entry = clients[client] ?? Client(windowStart: now, failures: 0, lastSeen: now)
        if now - entry.windowStart >= window || (entry.lockedUntil.map { $0 <= now } ?? false) {
            entry = Client(windowStart: now, failures: 0, lastSeen: now)
        }
        entry.failures += 1
        entry.lastSeen = now
        let locksOut = entry.failures >= limit && entry.lockedUntil == nil
        if locksOut { entry.lockedUntil = now + lockout }
        if clients[client] == nil && clients.count >= maximumClients { evict(now: now) }
        clients[client] = entry
        return locksOut
    }

    /// Drops clients whose window and lockout have passed; if none has, keeps half, locked-out clients
    /// first (a flood of new addresses must not free an attacker), then the most recently seen.
    private mutating func evict(now: Double) {
        clients = clients.filter { now - $0.value.windowStart < window || ($0.value.lockedUntil ?? 0) > now }
        guard clients.count >= maximumClients else { return }
        let kept = clients.sorted { a, b in
            let (aLocked, bLocked) = (a.value.lockedUntil != nil, b.value.lockedUntil != nil)
            return aLocked != bLocked ? aLocked : a.value.lastSeen > b.value.lastSeen
        }.prefix(maximumClients / 2)
        clients = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
    }
}

/// The shared, locked table the middleware consults on every request that carries a token.
public final class FailedTokenAttemptGuard: Sendable {
    private let attempts: Mutex<FailedTokenAttempts>
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    public init(_ attempts: FailedTokenAttempts = FailedTokenAttempts()) {
        self.attempts = Mutex(attempts)
        self.start = clock.now
    }

    private var now: Double {
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func retryAfter(client: String) -> Int? {
        let now = self.now
        return attempts.withLock { $0.retryAfter(client: client, now: now) }
    }

    func recordFailure(client: String) -> Bool {
        let now = self.now
        return attempts.withLock { $0.recordFailure(client: client, now: now) }
    }
}

extension FailedTokenAttempts {
    /// Addresses currently remembered (bounded by `maximumClients`).
    public var trackedClients: Int { clients.count }
}
