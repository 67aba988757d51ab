import Foundation
import Synchronization

/// The daemon's one wall clock for decisions (when a point was last heard, when windows close, how far
/// ahead a timestamp may be): the host's clock, steadied by `SteadyTime` so that it never goes back.
/// Shared, so that every part compares times of the same timeline.
public final class SteadyWallClock: Sendable {
    private let steady: Mutex<SteadyTime>
    private let wall: @Sendable () -> Int64
    private let monotonic: @Sendable () -> Int64

    /// `wall`: milliseconds since 1970; `monotonic`: milliseconds of any monotonic clock. Both the real
    /// clocks unless a test steps them.
    public init(
        wall: @escaping @Sendable () -> Int64 = SteadyWallClock.systemWall,
        monotonic: @escaping @Sendable () -> Int64 = SteadyWallClock.systemMonotonic, tolerance: Int64 = 60_000
    ) {
        self.wall = wall
        self.monotonic = monotonic
        steady = Mutex(SteadyTime(tolerance: tolerance))
    }

    /// Milliseconds since 1970, never less than a value this clock gave before.
    public func now() -> Int64 {
        steady.withLock { $0.read(wall: wall(), monotonic: monotonic()).time }
    }

    public static let systemWall: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    public static let systemMonotonic: @Sendable () -> Int64 = {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    private static let start = ContinuousClock.now
}
