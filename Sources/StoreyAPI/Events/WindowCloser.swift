/// Decides when minute windows close, from the newest reading stored and the wall clock. Pure.
///
/// A minute is closed once a reading of a later minute is stored (readings arrive mostly in order), or,
/// when readings stop, once the wall clock is `grace` seconds past its end. Late readings may still add
/// to a closed window; its figures in the store stay right, only the event has gone out.
public struct WindowCloser: Sendable, Equatable {
    /// Minutes starting before this (Unix seconds) have been reported closed.
    public private(set) var closedBefore: Int64?
    public var grace: Int64 = 5
    /// At most this many minutes are reported at once (after a gap, only the newest).
    public var burst: Int64 = 60

    public init() {}

    /// The starts of the minutes that closed since the last call, oldest first.
    public mutating func advance(newestReading milliseconds: Int64?, now: Int64) -> [Int64] {
        guard let milliseconds else { return [] }
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let newestMinute = seconds - ((seconds % 60) + 60) % 60
        var bound = newestMinute
        if now >= newestMinute + 60 + grace { bound = newestMinute + 60 }
        guard let previous = closedBefore else {
            // First look: report the one minute just closed, so a new client sees something at once.
            closedBefore = bound
            return [bound - 60]
        }
        guard bound > previous else { return [] }
        closedBefore = bound
        let first = max(previous, bound - burst * 60)
        return Array(stride(from: first, to: bound, by: 60))
    }
}
