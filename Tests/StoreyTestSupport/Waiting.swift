/// Polls `condition` every 50 ms until it holds, or throws naming `what` once `timeout` has passed.
/// The default is long: a whole-suite run starts hundreds of tests, daemons and brokers at once on two
/// cores, and a step that takes milliseconds alone was seen to take 20 s there. Waits that check a
/// deadline as behaviour pass their own timeout.
public func waitUntil(_ what: String, timeout: Duration = .seconds(90), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestSupportError("timed out waiting for \(what)")
}

/// A small deterministic generator (SplitMix64): the same numbers on every run, for streams and jitter.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
