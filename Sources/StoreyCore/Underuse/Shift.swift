import Foundation

/// One shift of a working day, from `start` to `end` in minutes of the local day. A shift whose end is
/// not after its start is a night shift: it runs past midnight into the next day (22:00–06:00).
public struct Shift: Sendable, Hashable, CustomStringConvertible {
    /// Minutes after local midnight, 0…1439.
    public var start: Int
    /// Minutes after local midnight, 0…1440; on the next day when not after `start`.
    public var end: Int

    public init(start: Int, end: Int) {
        precondition((0..<1440).contains(start) && (0...1440).contains(end), "a shift's times lie within a day")
        self.start = start
        self.end = end
    }

    /// Parses `HH:MM-HH:MM` (or with an en dash), e.g. `08:30-17:30` or `22:00-06:00`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == "–" })
        guard parts.count == 2, let start = Shift.minutes(parts[0]), let end = Shift.minutes(parts[1]), start < 1440
        else { return nil }
        self.init(start: start, end: end)
    }

    public var crossesMidnight: Bool { end <= start }

    /// Length in minutes.
    public var minutes: Int { crossesMidnight ? 1440 - start + end : end - start }

    public var description: String {
        String(format: "%02d:%02d-%02d:%02d", start / 60, start % 60, end / 60, end % 60)
    }

    private static func minutes(_ text: some StringProtocol) -> Int? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":")
        guard parts.count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 1440
        else { return nil }
        return hours * 60 + minutes
    }
}
