import ArgumentParser
import Foundation
import StoreyConfig
import StoreyCore
import StoreyReplay

/// `storey evaluate`: the configuration's rules run over recorded data, offline, with the daemon's own
/// aggregation and judge: every transition Storey would have made, in time order.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the configuration's rules over a recorded CSV and print the transitions they would make.",
        discussion: """
            Columns map to points as for `storey replay` (COLUMN=POINT, or COLUMN=POINT:sum for amounts per \
            interval into a counter). Nothing is published or stored. --summary adds, per tenant, its figures \
            over the whole recording (mean occupancy, utilisation of design capacity, energy and its intensity).
            Example: storey evaluate ../shared/data/cubems/floors-hourly-kw.csv --config cubems.yaml \
            --time-zone +07:00 --map Floor1=f1-kwh:sum --map Floor2=f2-kwh:sum
            """)
    @OptionGroup var options: ConfigOption
    @OptionGroup var recordingOptions: RecordingOptions

    @Flag(help: "Per tenant, its figures over the whole recording.")
    var summary = false

    @Flag(help: "JSON lines instead of tables.")
    var json = false

    func run() throws {
        let started = ContinuousClock.now
        let configuration = try options.load()
        let topology = configuration.topology
        let (recording, points) = try recordingOptions.load(topology, config: options.config, failure: Self.failure)
        recordingOptions.report(recording, readingsAre: "to judge") { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        var readings: [Reading] = []
        readings.reserveCapacity(recording.readingCount)
        for row in recording.rows {
            for (mapping, value) in row.values { readings.append(Reading(point: points[mapping], time: row.time, value: value)) }
        }
        let alerting = configuration.alerting
        var evaluation = RecordedEvaluation(
            rules: configuration.rules, topology: topology, workingTimes: configuration.workingTimes,
            coverage: WindowCoverage(required: alerting.coverage),
            baseline: Baseline(weeks: alerting.baselineWeeks, minimumWeeks: alerting.baselineMinimumWeeks),
            flapPeriod: Int64(alerting.flapPeriod * 1000), repeatInterval: nil)
        let actions = try evaluation.run(readings)
        let transitions = actions.compactMap { action -> AlertTransition? in
            if case .record(let transition) = action { return transition }
            return nil
        }
        let timeZone = topology.buildings.first?.timeZone ?? .gmt
        let formatter = DateFormatter()
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd EEE HH:mm"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        if !json { print(["time (local)", "rule", "scope", "change", "value", "limit", "reason"].joined(separator: "\t")) }
        for transition in transitions {
            let time = formatter.string(from: Date(timeIntervalSince1970: Double(transition.time) / 1000))
            if json {
                var object: [String: Any] = [
                    "time": transition.time, "local_time": time, "rule": transition.rule,
                    "scope": "\(transition.scope.kind.rawValue):\(transition.scopeID)", "from": transition.from.rawValue,
                    "to": transition.to.rawValue, "reason": transition.reason.code, "flapping": transition.isFlapping,
                ]
                if let values = transition.values {
                    object["value"] = values.value
                    object["limit"] = values.limit
                    object["unit"] = values.unit
                }
                if let detail = transition.reason.detail { object["detail"] = detail }
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                let value = transition.values.map { String(format: "%.4g %@", $0.value, $0.unit) } ?? "-"
                let limit = transition.values.map { String(format: "%.4g", $0.limit) } ?? "-"
                let reason = transition.reason.detail.map { "\(transition.reason.code) (\($0))" } ?? transition.reason.code
                print([time, transition.rule, "\(transition.scope.kind.rawValue):\(transition.scopeID)",
                       "\(transition.from.rawValue)→\(transition.to.rawValue)", value, limit, reason].joined(separator: "\t"))
            }
        }
        if summary { try printSummary(evaluation, topology: topology, readings: readings) }
        let elapsed = ContinuousClock.now - started
        let notifications = actions.count - transitions.count
        FileHandle.standardError.write(Data("\(transitions.count) transitions, \(notifications) notifications, from \(readings.count) readings in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds])))\n".utf8))
    }

    /// Per tenant: the month figures of the recording, added up (every figure merges by addition).
    func printSummary(_ evaluation: RecordedEvaluation, topology: Topology, readings: [Reading]) throws {
        guard let first = readings.map(\.time).min(), let last = readings.map(\.time).max() else { return }
        if !json {
            print("")
            print(["tenant", "leased m²", "design capacity", "mean occupancy", "utilisation %", "energy kWh", "kWh/m²"].joined(separator: "\t"))
        }
        for (index, tenant) in topology.tenants.enumerated() {
            let scope = Scope(.tenant, index)
            guard let building = topology.buildingIndex(of: scope) else { continue }
            var aligner = WindowAligner(timeZone: topology.buildings[building].timeZone)
            var total: [Quantity: FigureValues] = [:]
            var month = aligner.windows(at: first).month
            while month * 1000 <= last {
                for quantity in Quantity.allCases {
                    if let values = evaluation.figure(FigureKey(scope: scope, quantity: quantity, resolution: .month, windowStart: month)) {
                        total[quantity, default: FigureValues()].merge(values)
                    }
                }
                month = aligner.windowEnd(.month, start: month)
            }
            let day = aligner.windows(at: first).localDate
            let figures = WindowFigures(windowStart: first / 1000, rows: total.map { ($0.key, $0.value) }, leasedArea: topology.densityArea(of: scope, on: day))
            let capacity = topology.designCapacity(of: scope, on: day)
            let utilisation = figures.meanOccupancy.flatMap { mean in capacity.map { mean / $0 * 100 } }
            if json {
                var object: [String: Any] = ["tenant": tenant.id, "leased_area_m2": figures.leasedArea, "energy_kwh": figures.energy]
                if let capacity { object["design_capacity"] = capacity }
                if let mean = figures.meanOccupancy { object["mean_occupancy"] = mean }
                if let utilisation { object["utilisation_percent"] = utilisation }
                if let intensity = figures.energyIntensity { object["energy_intensity_kwh_m2"] = intensity }
                print(String(decoding: try JSONSerialization.data(withJSONObject: ["summary": object], options: [.sortedKeys]), as: UTF8.self))
            } else {
                func f(_ value: Double?, _ digits: Int = 2) -> String { value.map { String(format: "%.\(digits)f", $0) } ?? "-" }
                print([tenant.id, f(figures.leasedArea, 1), f(capacity, 0), f(figures.meanOccupancy, 3), f(utilisation, 3),
                       f(figures.energy, 1), f(figures.energyIntensity, 3)].joined(separator: "\t"))
            }
        }
    }

    static func failure(_ message: String) -> ExitCode { commandFailure("evaluate", message) }
}
