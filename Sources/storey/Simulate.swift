import ArgumentParser
import Foundation
import Logging
import StoreyConfig
import StoreyCore
import StoreyDaemon
import StoreyIntake

/// Publishes plausible readings for every point of a configuration: a working day's shape in each
/// building's local time (people arrive at 8, lunch at 12, leave at 18; base load at night and weekends).
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish simulated readings for every point of a configuration over MQTT.")
    @OptionGroup var options: ConfigOption

    @Option(help: "Seconds between two readings of one point.")
    var interval: Double = 10

    @Option(help: "Stop after this many seconds (0: run until interrupted).")
    var duration: Double = 0

    @Option(help: "QoS to publish with.")
    var qos: Int = 1

    @Option(help: "Random seed, for a repeatable run.")
    var seed: UInt64 = 1

    func run() async throws {
        let configuration = try options.load()
        let topology = configuration.topology
        let url = configuration.mqtt.url
        var settings = try Daemon.mqttSettings(configuration)
        settings.clientID = "storey-simulate-\(getpid())"
        settings.cleanSession = true
        settings.subscriptions = []
        let publisher = MQTTPublisher(settings: settings)
        try await publisher.connect()
        var random = SplitMix(seed: seed)
        var counters = topology.points.map { _ in Double(random.next() % 10_000) }
        let started = Date()
        var published = 0
        print("simulating \(topology.points.count) points every \(interval) s on \(url)")
        while duration == 0 || Date().timeIntervalSince(started) < duration {
            let now = Date()
            for (index, point) in topology.points.enumerated() {
                let building = topology.buildings[point.buildingIndex]
                let activity = Self.activity(at: now, timeZone: building.timeZone)
                let area = point.spaceIndex.map { topology.spaces[$0].area } ?? topology.floors[point.floorIndex].grossArea
                let capacity = Double(point.spaceIndex.map { topology.spaces[$0].capacity } ?? 0)
                let noise = 0.9 + Double(random.next() % 200) / 1000
                let value: Double
                switch point.quantity {
                case .power: value = area * (0.005 + 0.06 * activity) * noise
                case .energy:
                    counters[index] += area * (0.005 + 0.06 * activity) * noise * interval / 3600
                    value = counters[index]
                case .water, .gas:
                    counters[index] += area * 0.0002 * activity * noise * interval / 3600
                    value = counters[index]
                case .output:
                    counters[index] += area * 0.5 * activity * noise * interval / 3600
                    value = counters[index]
                case .occupancy: value = (capacity * activity * noise).rounded()
                case .presence: value = activity > 0.05 ? 1 : 0
                }
                let payload = "{\"value\":\(String(format: "%.4f", value)),\"ts\":\(String(format: "%.3f", now.timeIntervalSince1970))}"
                try await publisher.publish(topic: point.topic, payload: Array(payload.utf8), qos: qos)
                published += 1
            }
            try await Task.sleep(for: .seconds(interval))
        }
        try await publisher.flush()
        await publisher.disconnect()
        print("published \(published) readings")
    }

    /// 0 at night and on weekends, about 1 in working hours, a dip at lunch.
    static func activity(at date: Date, timeZone: TimeZone) -> Double {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        let hour = Double(parts.hour ?? 0) + Double(parts.minute ?? 0) / 60
        guard let weekday = parts.weekday, weekday != 1, weekday != 7 else { return 0.02 }
        switch hour {
        case 8..<12, 13..<18: return 1
        case 12..<13: return 0.4
        case 7..<8, 18..<20: return 0.3
        default: return 0.02
        }
    }
}

/// A small seedable generator, so a simulation can be repeated exactly.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
