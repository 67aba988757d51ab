/// An operator's acknowledgement of a firing alert: reminders stop until the alert resolves.
public struct Acknowledgement: Sendable, Equatable, Codable {
    public var by: String
    /// Milliseconds since the Unix epoch.
    public var at: Int64
    public var comment: String

    public init(by: String, at: Int64, comment: String = "") {
        self.by = by
        self.at = at
        self.comment = comment
    }
}
