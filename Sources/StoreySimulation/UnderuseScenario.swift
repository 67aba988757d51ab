import StoreyCore

/// A deliberate way a tenant (or one space) under-uses what it leases, so that underuse shows in the figures.
public enum UnderuseScenario: Sendable, Equatable {
    /// Leases the space but keeps it nearly empty: a few people and the lights in working time, no output.
    case hoarding
    /// The line stands still for `days` from `from` (and again every `repeatEvery` days, if given):
    /// maintenance staff only, the process load off, no output.
    case lineStopped(from: LocalDate, days: Int, repeatEvery: Int?)
    /// Dark: nobody comes, only the base load runs.
    case dark

    /// Whether the scenario holds on `day` (a local date).
    public func applies(on day: LocalDate) -> Bool {
        switch self {
        case .hoarding, .dark:
            return true
        case .lineStopped(let from, let days, let repeatEvery):
            let offset = day.daysSinceEpoch - from.daysSinceEpoch
            guard offset >= 0 else { return false }
            if let period = repeatEvery, period > 0 { return offset % period < days }
            return offset < days
        }
    }
}
