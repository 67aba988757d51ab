/// Maps the wall clock to the time being played (simulated or replayed): `speed` times faster from `start`,
/// but never ahead of the wall clock itself, since storeyd refuses readings from the future. Once the
/// played time catches up with the present it follows the wall clock.
public struct PlaybackClock: Sendable, Equatable {
    /// Played time at the start, milliseconds since the epoch.
    public var start: Int64
    /// Wall time at the start, milliseconds since the epoch.
    public var wallStart: Int64
    /// Played milliseconds per wall millisecond; 0 or less: as fast as possible (still never ahead of now).
    public var speed: Double

    public init(start: Int64, wallStart: Int64, speed: Double) {
        self.start = start
        self.wallStart = wallStart
        self.speed = speed
    }

    /// The played time at wall time `wall`.
    public func playedTime(atWall wall: Int64) -> Int64 {
        guard speed > 0 else { return wall }
        let played = start + Int64(Double(wall - wallStart) * speed)
        return min(played, wall)
    }

    /// The wall time at which the played clock reaches `played` (now or earlier if already reached).
    public func wallTime(reaching played: Int64) -> Int64 {
        guard speed > 0 else { return played }
        let bySpeed = wallStart + Int64((Double(played - start) / speed).rounded(.up))
        return max(bySpeed, played)
    }
}
