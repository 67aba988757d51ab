/// Delays between reconnect attempts: exponential growth capped at a maximum, with full jitter.
///
/// A pure value: the caller supplies the random source, so tests can pin the jitter.
/// Attempt *n* (counting from 0) waits a uniformly random time in `0 ... min(maximum, initial × multiplierⁿ)`.
public struct MQTTReconnectBackoff: Sendable, Hashable {
    public let policy: MQTTBackoff
    /// Failed attempts since the last successful connect.
    public private(set) var attempt: Int = 0

    public init(policy: MQTTBackoff) {
        self.policy = policy
    }

    /// The cap of the next delay, before jitter.
    public var currentCeiling: Duration {
        let initial = Self.seconds(policy.initial)
        let maximum = Self.seconds(policy.maximum)
        let grown = initial * pow(max(policy.multiplier, 1), Double(min(attempt, 64)))
        return .seconds(max(0, min(maximum, grown)))
    }

    /// The delay before the next attempt; grows the ceiling for the attempt after it.
    public mutating func nextDelay<Random: RandomNumberGenerator>(using random: inout Random) -> Duration {
        let ceiling = Self.seconds(currentCeiling)
        attempt += 1
        guard ceiling > 0 else { return .zero }
        // Uniform in [0, 1], from one draw: no rejection loop, so any generator (even a constant one) works.
        let fraction = Double(random.next() >> 11) / Double((UInt64(1) << 53) - 1)
        return .seconds(ceiling * fraction)
    }

    /// A connection succeeded: the next loss starts again from `initial`.
    public mutating func reset() {
        attempt = 0
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
