/// How a circuit breaker opens and for how long.
public struct CircuitBreakerPolicy: Sendable, Equatable {
    /// Consecutive endpoint failures that open the circuit.
    public var failureThreshold = 5
    /// Seconds the circuit first stays open; each failed trial doubles it, up to `maximumOpen`.
    public var initialOpen: Double = 10
    public var maximumOpen: Double = 300

    public init() {}
}

/// One endpoint's circuit breaker as a value: closed while it answers; open (no attempts, messages wait
/// without spending attempts) after a run of failures; half-open lets one trial through when the wait
/// is over, whose result closes or reopens it.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case closed(failures: Int)
        /// Milliseconds since the Unix epoch when a trial may go.
        case open(until: Int64, openFor: Double)
        case halfOpen(openFor: Double)
    }

    public private(set) var state: State = .closed(failures: 0)
    public let policy: CircuitBreakerPolicy

    public init(policy: CircuitBreakerPolicy) {
        self.policy = policy
    }

    public enum Permission: Sendable, Equatable {
        case send
        /// Wait until then (milliseconds since the Unix epoch).
        case wait(until: Int64)
    }

    /// Whether an attempt may go now. Half-open allows exactly one, until its result is recorded.
    public mutating func permission(now: Int64) -> Permission {
        switch state {
        case .closed:
            return .send
        case .open(let until, let openFor):
            guard now >= until else { return .wait(until: until) }
            state = .halfOpen(openFor: openFor)
            return .send
        case .halfOpen:
            return .wait(until: now + 1000)
        }
    }

    public var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }

    public mutating func recordSuccess() {
        state = .closed(failures: 0)
    }

    public mutating func recordFailure(now: Int64) {
        switch state {
        case .closed(let failures):
            if failures + 1 >= policy.failureThreshold {
                state = .open(until: now + Int64(policy.initialOpen * 1000), openFor: policy.initialOpen)
            } else {
                state = .closed(failures: failures + 1)
            }
        case .halfOpen(let openFor):
            let next = min(policy.maximumOpen, openFor * 2)
            state = .open(until: now + Int64(next * 1000), openFor: next)
        case .open:
            break
        }
    }
}
