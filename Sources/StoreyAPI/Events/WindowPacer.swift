/// Paces window events: closed minutes go out at once when windows close at their real pace (one a
/// minute), and at most once per `spacing` when they close faster — a broker backlog drained after an
/// outage, a replay — gathered into one release whose newest window is sent and the rest counted as
/// skipped (`WindowEventSource.publishClosed`). Pure.
///
/// Why: a building's window event carries the figures of every space, tenant and floor (about 100 kB for
/// 250 spaces), and every stream client gets each one. Draining a backlog closes dozens of minutes a
/// second; sending each to 200 clients took more CPU than intake itself, and the dashboard only redraws
/// on them. Every skipped window's figures stay in the store for `/api/v1/series`.
public struct WindowPacer: Sendable {
    public var spacing: Duration
    /// At most this many closed minutes are held (the newest); older ones are only counted.
    public var capacity: Int
    public private(set) var pending: [Int64] = []
    /// Minutes that closed while held and were let go at the capacity, for the next release's count.
    public private(set) var overflow = 0
    private var lastRelease: ContinuousClock.Instant?

    public init(spacing: Duration = .seconds(1), capacity: Int = 60) {
        self.spacing = spacing
        self.capacity = capacity
    }

    public struct Release: Equatable, Sendable {
        /// The closed minutes, oldest first.
        public var minutes: [Int64]
        /// Closed minutes older than these that were not kept (beyond `capacity`).
        public var overflow: Int

        public init(minutes: [Int64], overflow: Int) {
            self.minutes = minutes
            self.overflow = overflow
        }
    }

    public mutating func add(_ minutes: [Int64]) {
        pending.append(contentsOf: minutes)
        if pending.count > capacity {
            overflow += pending.count - capacity
            pending.removeFirst(pending.count - capacity)
        }
    }

    /// The held minutes, if `spacing` has passed since the last release; nil otherwise or when none are held.
    public mutating func release(at now: ContinuousClock.Instant) -> Release? {
        guard !pending.isEmpty else { return nil }
        if let lastRelease, now - lastRelease < spacing { return nil }
        lastRelease = now
        defer { pending = []; overflow = 0 }
        return Release(minutes: pending, overflow: overflow)
    }

    /// Forgets what is held (nobody is watching).
    public mutating func drop() {
        pending = []
        overflow = 0
    }
}
