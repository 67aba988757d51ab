/// When to try a failed message again: exponential backoff with jitter, a receiver's `Retry-After`
/// honoured, and a give-up age after which the message becomes a dead letter.
public struct RetryPolicy: Sendable, Equatable {
    /// Seconds before the second attempt.
    public var initialDelay: Double = 1
    /// The longest wait between attempts, in seconds.
    public var maximumDelay: Double = 300
    public var multiplier: Double = 2
    /// Each delay is spread by up to this fraction either way, so retries of many messages do not stampede.
    public var jitter: Double = 0.2
    /// Seconds after the message was made when it goes to the dead letters instead of being tried again.
    public var giveUpAfter: Double = 24 * 3600
    /// A `Retry-After` longer than this (seconds) is cut to it.
    public var maximumRetryAfter: Double = 3600

    public init() {}

    public enum Decision: Sendable, Equatable {
        /// Milliseconds since the Unix epoch.
        case retry(at: Int64)
        case deadLetter(FailureReason, String)
    }

    /// What to do after attempt number `attempts` (1 for the first) came to `outcome`.
    /// `random` is in 0..<1 (injected so tests are exact).
    public func decide(outcome: SendOutcome, attempts: Int, createdAt: Int64, now: Int64, random: Double) -> Decision? {
        switch outcome {
        case .delivered:
            return nil
        case .rejected(let reason, let message):
            return .deadLetter(reason, message)
        case .gone(let message):
            return .deadLetter(.gone, message)
        case .failed(let reason, let message, let retryAfter):
            let wait = delay(afterAttempt: attempts, retryAfter: retryAfter, random: random)
            let next = now + Int64(wait * 1000)
            if Double(next - createdAt) / 1000 > giveUpAfter {
                return .deadLetter(reason, "gave up after \(attempts) attempts over \(Int(Double(now - createdAt) / 1000))s: \(message)")
            }
            return .retry(at: next)
        }
    }

    /// Seconds to wait after attempt number `attempts`.
    public func delay(afterAttempt attempts: Int, retryAfter: Double?, random: Double) -> Double {
        if let retryAfter, retryAfter >= 0 { return min(retryAfter, maximumRetryAfter) }
        let exponent = Double(max(0, attempts - 1))
        let base = min(maximumDelay, initialDelay * pow(multiplier, exponent))
        let spread = base * jitter * (random * 2 - 1)
        return max(0, min(maximumDelay, base + spread))
    }
}

import Foundation
