import StoreyCore

/// A scope's occupancy and presence in its working time only, for a report's utilisation: an office
/// empty at night is not under-used, so minutes outside the scope's shifts (evenings, weekends,
/// holidays) do not count.
///
/// Built from stored rows: an hour wholly inside working time counts from its hour row; an hour only
/// partly inside (a shift starting at 08:30) counts from its minute rows, minute by minute. Pure: the
/// caller fetches the rows (`partlyWorkedHours` says which minute rows it needs).
public struct WorkingTimeLevels: Sendable, Equatable {
    public let workingTime: WorkingTime
    /// Occupancy (persons) in working minutes that had data.
    public private(set) var occupancy = FigureValues()
    /// Presence (0/1) in working minutes that had data.
    public private(set) var presence = FigureValues()

    public init(workingTime: WorkingTime) {
        self.workingTime = workingTime
    }

    /// Working minutes in the hour starting at `start` (Unix seconds): 0, 60, or between for an hour a
    /// shift starts or ends in.
    public func workingMinutes(inHourStarting start: Int64) -> Int {
        workingTime.workingMinutes(from: start * 1000, to: (start + 3600) * 1000)
    }

    /// Of the given hour starts, those only partly in working time (their minute rows are needed).
    public func partlyWorkedHours(_ hourStarts: some Sequence<Int64>) -> Set<Int64> {
        Set(hourStarts.filter { (1..<60).contains(workingMinutes(inHourStarting: $0)) })
    }

    /// Adds hour rows (windowStart, values) of `quantity`: whole working hours count, others are left to
    /// `addMinutes`.
    public mutating func addHours(_ rows: [(windowStart: Int64, values: FigureValues)], of quantity: Quantity) {
        for row in rows where workingMinutes(inHourStarting: row.windowStart) == 60 {
            add(row.values, of: quantity)
        }
    }

    /// Adds minute rows of `quantity` that lie in working time and in one of `partlyWorkedHours` (so a
    /// minute is never counted twice with its whole hour).
    public mutating func addMinutes(_ rows: [(windowStart: Int64, values: FigureValues)], of quantity: Quantity, partlyWorkedHours: Set<Int64>) {
        var aligner = WindowAligner(timeZone: workingTime.timeZone)
        for row in rows where workingTime.isWorkingTime(at: row.windowStart * 1000) {
            guard partlyWorkedHours.contains(aligner.windows(at: row.windowStart * 1000).hour) else { continue }
            add(row.values, of: quantity)
        }
    }

    private mutating func add(_ values: FigureValues, of quantity: Quantity) {
        switch quantity {
        case .occupancy: occupancy.merge(values)
        case .presence: presence.merge(values)
        default: break
        }
    }

    /// Scheduled working hours from `start` to `end` (Unix seconds).
    public func scheduledHours(from start: Int64, to end: Int64) -> Double {
        Double(workingTime.workingMinutes(from: start * 1000, to: end * 1000)) / 60
    }
}
