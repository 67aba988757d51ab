import Foundation
import StoreyCore

/// Baselines for the live view: each scope's usual power density (kW per m² of leased area) for the hour
/// of the week in progress, so the dashboard can colour a space by how it compares with its own habit
/// (or, without enough history of its own, with the building's).
extension OperatorView {
    /// How baselines are learned for the view: the median of the same hour over the last four weeks,
    /// given once two of them are known (as the underuse rules' default).
    static let liveBaseline = Baseline(weeks: 4, minimumWeeks: 2)

    /// The usual power density of every space, tenant, floor and the building itself, for the hour of
    /// the week that starts at `hourStart` (Unix seconds) in `building`. Scopes without enough history
    /// are absent. One query: the same hour in each of the weeks looked at.
    func baselinePowerDensities(building: Int, hourStart: Int64, snapshot: TopologySnapshot) throws -> [Scope: Double] {
        let topology = snapshot.topology
        let timeZone = topology.buildings[building].timeZone
        var aligner = WindowAligner(timeZone: timeZone)
        let week: Int64 = 7 * 86_400
        // Aligned again in local time, so a change of UTC offset in between does not shift the hour.
        let hours = Set((1...Self.liveBaseline.weeks).map { aligner.windows(at: (hourStart - Int64($0) * week) * 1000).hour })
        let figures = snapshot.assemble(try store.windowFigures(resolution: .hour, windowStarts: hours))
        var history: [Scope: [HourlyValue]] = [:]
        for (key, values) in figures where topology.buildingIndex(of: key.scope) == building {
            guard let power = values.meanPower, values.leasedArea > 0 else { continue }
            history[key.scope, default: []].append(HourlyValue(start: key.windowStart * 1000, value: power / values.leasedArea))
        }
        let calendar = workingTimes.calendars[building] ?? .none
        var levels: [Scope: Double] = [:]
        for (scope, values) in history {
            if let level = Self.liveBaseline.level(forHourStarting: hourStart * 1000, history: values, timeZone: timeZone, calendar: calendar).value {
                levels[scope] = level
            }
        }
        return levels
    }
}
