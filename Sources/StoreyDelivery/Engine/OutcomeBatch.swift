import StoreyStore

/// How outcomes are gathered into one commit: one SQLite write per message costs more than the send
/// itself once receivers answer quickly.
public struct OutcomeBatchPolicy: Sendable, Equatable {
    /// Most outcomes in one commit (1: each outcome alone, as soon as it is known).
    public var size = 64
    /// Longest an outcome waits for others, in seconds.
    public var within: Double = 0.02

    public init(size: Int = 64, within: Double = 0.02) {
        self.size = size
        self.within = within
    }
}

/// An outcome waiting for its commit, and what to tell the observer once it is committed.
struct PendingOutcome: Sendable, Equatable {
    enum Report: Sendable, Equatable {
        case delivered(receiver: String, seconds: Double)
        case deadLettered(receiver: String, reason: FailureReason)
    }

    var outcome: DeliveryOutcome
    var report: Report?
}

/// Outcomes waiting to be committed together, as a value. Due when it is full, when its oldest
/// outcome has waited `within`, or when no send is still running (nothing else could join it, so
/// waiting would only slow the next message of the same channel).
struct OutcomeBatch: Sendable {
    var policy: OutcomeBatchPolicy
    private(set) var outcomes: [PendingOutcome] = []
    /// When the oldest outcome in it was added (milliseconds since the Unix epoch).
    private(set) var oldestAt: Int64?

    init(policy: OutcomeBatchPolicy) {
        self.policy = policy
    }

    mutating func add(_ outcome: PendingOutcome, now: Int64) {
        if outcomes.isEmpty { oldestAt = now }
        outcomes.append(outcome)
    }

    /// The latest time it may be committed (nil: empty).
    var dueAt: Int64? { oldestAt.map { $0 + Int64(policy.within * 1000) } }

    func isDue(now: Int64, sendsInFlight: Int) -> Bool {
        guard let dueAt else { return false }
        return outcomes.count >= policy.size || now >= dueAt || sendsInFlight == 0
    }

    /// Empties it, returning what it held.
    mutating func take() -> [PendingOutcome] {
        defer {
            outcomes = []
            oldestAt = nil
        }
        return outcomes
    }
}
