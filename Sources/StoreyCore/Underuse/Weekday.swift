/// A day of the week, Monday first (as working weeks are written in China and most of Europe).
public enum Weekday: Int, Sendable, CaseIterable, Codable, Comparable {
    case monday = 0, tuesday, wednesday, thursday, friday, saturday, sunday

    public var isWeekend: Bool { self == .saturday || self == .sunday }

    /// Accepts `mon`, `Monday`, `MO` (iCalendar) and the like.
    public init?(name: some StringProtocol) {
        switch name.lowercased().prefix(2) {
        case "mo": self = .monday
        case "tu": self = .tuesday
        case "we": self = .wednesday
        case "th": self = .thursday
        case "fr": self = .friday
        case "sa": self = .saturday
        case "su": self = .sunday
        default: return nil
        }
    }

    public static func < (lhs: Weekday, rhs: Weekday) -> Bool { lhs.rawValue < rhs.rawValue }
}
