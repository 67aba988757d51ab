/// One condition on an alert's labels.
public struct LabelMatcher: Sendable, Equatable, Codable {
    public var name: String
    public var value: String
    /// `name != value` instead of `name == value` (a missing label counts as "").
    public var isNegative: Bool

    public init(_ name: String, _ value: String, isNegative: Bool = false) {
        self.name = name
        self.value = value
        self.isNegative = isNegative
    }

    public func matches(_ labels: [String: String]) -> Bool {
        ((labels[name] ?? "") == value) != isNegative
    }
}

/// A silence: from `start` to `end`, alerts whose labels match every matcher are not notified. Their
/// state goes on changing and is recorded; only delivery is held back.
public struct Silence: Sendable, Equatable, Codable {
    public var id: String
    public var matchers: [LabelMatcher]
    /// Milliseconds since the Unix epoch: the silence is in effect in `[start, end)`.
    public var start: Int64
    public var end: Int64
    public var creator: String
    public var comment: String

    public init(id: String, matchers: [LabelMatcher], start: Int64, end: Int64, creator: String, comment: String = "") {
        self.id = id
        self.matchers = matchers
        self.start = start
        self.end = end
        self.creator = creator
        self.comment = comment
    }

    public func isActive(at time: Int64) -> Bool { time >= start && time < end }

    /// A silence with no matchers would silence everything; it matches nothing instead.
    public func matches(_ labels: [String: String]) -> Bool {
        !matchers.isEmpty && matchers.allSatisfy { $0.matches(labels) }
    }
}
