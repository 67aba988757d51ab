/// Which column of a recording feeds which point: `COLUMN=POINT`, or `COLUMN=POINT:sum` for a column that
/// holds amounts per interval (kWh per 5 minutes) replayed into a counter as their running total.
public struct ReplayMapping: Sendable, Equatable {
    public var column: String
    public var pointID: String
    public var runningTotal: Bool

    public init(column: String, pointID: String, runningTotal: Bool = false) {
        self.column = column
        self.pointID = pointID
        self.runningTotal = runningTotal
    }

    /// Parses `COLUMN=POINT` or `COLUMN=POINT:sum`; nil when it is neither.
    public init?(argument: String) {
        guard let equals = argument.lastIndex(of: "=") else { return nil }
        let column = String(argument[..<equals])
        var point = String(argument[argument.index(after: equals)...])
        var total = false
        if point.hasSuffix(":sum") {
            point.removeLast(4)
            total = true
        }
        guard !column.isEmpty, !point.isEmpty else { return nil }
        self.init(column: column, pointID: point, runningTotal: total)
    }
}
