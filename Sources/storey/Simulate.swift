import ArgumentParser
import Foundation
import StoreyConfig
import StoreyCore
import StoreyDaemon
import StoreyIntake
import StoreySimulation

/// Publishes a simulated tower over MQTT: every point of the configuration, its tenants behaving as the
/// simulation plan says (kinds, underuse, faulty sensors), in simulated time running `--speed` times faster
/// from `--start` and never ahead of the wall clock.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a simulated tower's readings for every point of a configuration over MQTT.",
        discussion: """
            Tenants behave as simulation.yaml (beside the configuration, or --plan) says: their kind, the \
            deliberate underuse, the sensors that drop out or reset. Working hours and holidays come from the \
            topology. Simulated time starts at --start and runs --speed times faster, but never ahead of the \
            wall clock (storeyd refuses readings from the future): once it catches up it follows the clock.
            Example, a day in ten minutes, starting yesterday: storey simulate --config storey.yaml --start -1d --speed 144
            """)
    @OptionGroup var options: ConfigOption

    @Option(help: "The simulation plan (YAML); default: simulation.yaml beside the configuration, if there.")
    var plan: String?

    // Unconditional: "-1d" is a value here, not an option.
    @Option(parsing: .unconditional, help: "Simulated start: now, -1d, -6h, 2026-11-25 (local midnight) or RFC 3339.")
    var start = "now"

    @Option(help: "Simulated seconds per wall-clock second (144: a day in ten minutes).")
    var speed: Double = 1

    @Option(help: "Simulated seconds between two readings of one point.")
    var interval: Double = 60

    @Option(help: "Stop after this much simulated time (e.g. 1h, 7d).")
    var span: String?

    @Option(help: "Stop after this many wall-clock seconds (0: no limit).")
    var duration: Double = 0

    @Option(help: "QoS to publish with.")
    var qos: Int = 1

    @Option(help: "Random seed: the same seed, start and interval publish the same readings.")
    var seed: UInt64 = 1

    func validate() throws {
        guard interval >= 1 else { throw ValidationError("--interval must be at least 1 second") }
        guard speed >= 0 else { throw ValidationError("--speed must not be negative") }
        guard (0...2).contains(qos) else { throw ValidationError("--qos must be 0, 1 or 2") }
        if let span, PlaybackTime.duration(span) == nil { throw ValidationError("--span \"\(span)\" is not a duration such as 1h or 7d") }
    }

    func run() async throws {
        let configuration = try options.load()
        let topology = configuration.topology
        let simulationPlan = try loadPlan(topology: topology)
        let now = Self.nowMilliseconds()
        let zone = topology.buildings.first?.timeZone ?? .gmt
        guard let startTime = PlaybackTime.instant(start, now: now, timeZone: zone) else {
            throw commandFailure("simulate", "--start \"\(start)\" is not now, -1d, a date (2026-11-25) or an RFC 3339 time")
        }
        guard startTime <= now + 60_000 else { throw commandFailure("simulate", "--start is in the future; storeyd would refuse the readings") }
        let intervalMillis = Int64(interval * 1000)
        let end = span.flatMap(PlaybackTime.duration).map { startTime + Int64($0 * 1000) }

        var simulation = TowerSimulation(
            topology: topology, workingTimes: configuration.workingTimes, plan: simulationPlan, seed: seed,
            start: startTime, interval: intervalMillis)
        let clock = PlaybackClock(start: startTime, wallStart: now, speed: speed)
        let publisher = try await Publishing.connect(configuration, name: "simulate")
        let shapes = topology.points.map { PayloadShape.of($0.quantity) }

        say("simulating \(topology.points.count) points of \(topology.tenants.count) tenants on \(configuration.mqtt.url): from \(Self.local(startTime, zone)), \(Self.describe(speed)), a reading per point every \(Int(interval)) s")
        for line in Self.describe(simulationPlan) { say("  \(line)") }
        var published = 0
        var lastReport = now
        var caughtUp = false
        while end.map({ simulation.start + Int64(simulation.tick) * intervalMillis < $0 }) ?? true {
            let wallNow = Self.nowMilliseconds()
            if duration > 0 && Double(wallNow - now) >= duration * 1000 { break }
            let due = clock.wallTime(reaching: simulation.nextTickEnd)
            if due > wallNow {
                var wait = due - wallNow
                if duration > 0 { wait = min(wait, now + Int64(duration * 1000) - wallNow) }
                try await Task.sleep(for: .milliseconds(max(wait, 1)))
                continue
            }
            if !caughtUp && speed != 1 && simulation.nextTickEnd + intervalMillis > wallNow {
                caughtUp = true
                say("simulated time has caught up with the clock: following it in real time")
            }
            for reading in simulation.nextTick() {
                let point = topology.points[reading.point]
                let payload = shapes[reading.point].payload(value: reading.value, time: reading.time, quantity: point.quantity, unit: point.unit)
                try await publisher.publish(topic: point.topic, payload: Array(payload.utf8), qos: qos)
                published += 1
            }
            if wallNow - lastReport >= 10_000 {
                lastReport = wallNow
                say("simulated up to \(Self.local(simulation.nextTickEnd - intervalMillis, zone)): \(published) readings published")
            }
        }
        try await publisher.flush()
        await publisher.disconnect()
        say("published \(published) readings")
    }

    /// The plan named, or simulation.yaml beside the configuration, or none (kinds from the chain labels).
    func loadPlan(topology: Topology) throws -> SimulationPlan {
        let beside = ((options.config as NSString).deletingLastPathComponent as NSString).appendingPathComponent("simulation.yaml")
        guard let file = plan ?? (FileManager.default.fileExists(atPath: beside) ? beside : nil) else { return SimulationPlan() }
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw commandFailure("simulate", "cannot read the simulation plan \(file): \(error.localizedDescription)")
        }
        do {
            let plan = try SimulationPlan(yaml: text, file: file)
            let unknown = plan.unknownIDs(in: topology)
            guard unknown.isEmpty else { throw commandFailure("simulate", unknown.map { "\(file): \($0)" }.joined(separator: "\n")) }
            return plan
        } catch let errors as SimulationPlanErrors {
            throw commandFailure("simulate", errors.description)
        }
    }

    /// One line per planned underuse and faulty sensor, so a viewer knows what to look for.
    static func describe(_ plan: SimulationPlan) -> [String] {
        func scenario(_ scenario: UnderuseScenario) -> String {
            switch scenario {
            case .hoarding: "hoards its space (a handful of people, no output)"
            case .dark: "dark (base load only, nobody there)"
            case .lineStopped(let from, let days, let every):
                "line stopped for \(days) days from \(from)\(every.map { ", again every \($0) days" } ?? "")"
            }
        }
        var lines = plan.tenantScenarios.sorted { $0.key < $1.key }.map { "underuse: tenant \($0.key) \(scenario($0.value))" }
        lines += plan.spaceScenarios.sorted { $0.key < $1.key }.map { "underuse: space \($0.key) \(scenario($0.value))" }
        for (point, faults) in plan.faults.sorted(by: { $0.key < $1.key }) {
            for fault in faults {
                switch fault {
                case .dropout(let period, let duration): lines.append("fault: \(point) silent \(Int(duration / 60)) min every \(Int(period / 3600)) h")
                case .counterReset(let period): lines.append("fault: \(point) counter restarts from zero every \(Int(period / 3600)) h")
                }
            }
        }
        return lines
    }

    static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    static func local(_ milliseconds: Int64, _ zone: TimeZone) -> String {
        let instant = LocalInstant(milliseconds: milliseconds, in: zone)
        return String(format: "%@ %02d:%02d", instant.date.description, instant.minuteOfDay / 60, instant.minuteOfDay % 60)
    }

    static func describe(_ speed: Double) -> String {
        switch speed {
        case ...0: "as fast as the broker takes them"
        case 1: "in real time"
        default: "\(speed.formatted()) times faster than real time"
        }
    }
}
