/// Wall-clock time steadied against steps of the host's clock (an NTP step, an operator's `date -s`, a
/// virtual machine resumed), told apart from time passing by a monotonic clock. Windows, silences and
/// reminders are in wall-clock time (a building's local hours), so it is the wall clock that is followed,
/// except backwards.
///
/// - A step forward is taken as it is (windows close, silences end, reminders fall due: the wall clock
///   says so), and reported, so that the underuse monitor counts point silence afresh from it instead of
///   calling every point silent for the hours the clock jumped.
/// - A step backward is not followed: time never goes back, so nothing judged, resolved or notified is
///   undone and done again. Instead it runs on at half the monotonic rate until the host's clock catches
///   up (after twice the step), so timers are late by at most the step, never stuck.
///
/// Differences up to `tolerance` are ordinary drift and slewing (and the jitter of reading two clocks).
public struct SteadyTime: Sendable {
    public var tolerance: Int64
    private var last: (time: Int64, monotonic: Int64)?

    public init(tolerance: Int64 = 60_000) {
        self.tolerance = tolerance
    }

    /// What one reading of the clocks gives.
    public struct Sample: Sendable, Equatable {
        /// Milliseconds since 1970 to judge by.
        public var time: Int64
        /// How far the host's clock jumped ahead of the monotonic clock since the last reading, when it did
        /// by more than the tolerance; nil otherwise.
        public var forwardStep: Int64?
        /// How far the host's clock is behind `time` after a backward step; 0 when it is not.
        public var behind: Int64

        public init(time: Int64, forwardStep: Int64?, behind: Int64) {
            self.time = time
            self.forwardStep = forwardStep
            self.behind = behind
        }
    }

    /// `wall`: the host's clock (ms since 1970); `monotonic`: any monotonic clock (ms).
    public mutating func read(wall: Int64, monotonic: Int64) -> Sample {
        guard let last else {
            self.last = (wall, monotonic)
            return Sample(time: wall, forwardStep: nil, behind: 0)
        }
        let elapsed = max(0, monotonic - last.monotonic)
        let time: Int64
        var forwardStep: Int64?
        if wall >= last.time {
            time = wall
            let jump = wall - (last.time + elapsed)
            if jump > tolerance { forwardStep = jump }
        } else {
            // Behind what was already judged: go on at half speed; the host's clock, at full speed, catches up.
            time = last.time + elapsed / 2
        }
        self.last = (time, monotonic)
        return Sample(time: time, forwardStep: forwardStep, behind: time - wall)
    }
}
