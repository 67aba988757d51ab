import ArgumentParser
import Foundation
import StoreyIntake

/// Publishes a fixed number of readings round-robin over a list of topics, as fast as the broker takes
/// them (QoS 1: with a bounded number awaiting acknowledgement), for the intake benchmark.
@main
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "storey-loadgen")

    @Option(help: "File whose lines start with a topic (the output of `storey topics`).")
    var topics: String

    @Option(help: "Broker port on 127.0.0.1.")
    var port: Int = 1883

    @Option(help: "Readings to publish.")
    var count: Int = 1_000_000

    @Option(help: "QoS.")
    var qos: Int = 0

    @Option(help: "Messages awaiting acknowledgement at most.")
    var inFlight: Int = 1000

    @Option(help: "Seconds between one point's readings, in their timestamps: 60 gives every reading a minute row of its own (the worst case for figure rows); meters commonly report every 10 to 60 s.")
    var interval: Int = 60

    @Flag(help: "Stamp each reading with the time it is published (milliseconds), as live meters do, instead of one interval apart per round.")
    var live = false

    @Option(help: "Readings a second at most, evenly paced (0: as fast as the broker takes them). A steady rate for soaks.")
    var rate = 0

    func run() async throws {
        let lines = try String(contentsOfFile: topics, encoding: .utf8).split(separator: "\n")
        let list = lines.compactMap { $0.split(separator: "\t").first.map(String.init) }
        let quantities = lines.map { $0.split(separator: "\t").dropFirst(2).first.map(String.init) ?? "power" }
        guard !list.isEmpty else { throw ValidationError("no topics in \(topics)") }
        let publisher = MQTTPublisher(
            settings: MQTTSettings(port: port, clientID: "storey-loadgen-\(getpid())", cleanSession: true), maxInFlight: inFlight)
        try await publisher.connect()
        let start = Date()
        let base = Date().timeIntervalSince1970 - Double((count / list.count + 1) * interval)
        // Live: the newest time given to each point, so that two readings of a point never share a millisecond.
        var lastStamp = [Int64](repeating: 0, count: list.count)
        for index in 0..<count {
            if rate > 0 && index % 100 == 0 {
                // Ahead of the pace: wait until this reading is due.
                let due = Double(index) / Double(rate) - Date().timeIntervalSince(start)
                if due > 0 { try await Task.sleep(for: .milliseconds(Int(due * 1000))) }
            }
            let point = index % list.count
            let round = index / list.count
            let stamp: String
            let energy: Double
            if live {
                // Now, like a meter in the tower: windows close at their real pace.
                let now = max(Int64(Date().timeIntervalSince1970 * 1000), lastStamp[point] + 1)
                lastStamp[point] = now
                stamp = String(now)
                energy = Double(round) * 0.001
            } else {
                // Each point: one reading per interval, back in time, so every reading is new; counters rise.
                stamp = String(Int(base + Double(round * interval)))
                energy = Double(round) * 1.5
            }
            let value: Double =
                switch quantities[point] {
                case "energy": energy
                case "presence": Double(index % 2)
                default: Double(index % 97)
                }
            try await publisher.publish(topic: list[point], payload: "{\"value\":\(value),\"ts\":\(stamp)}", qos: qos)
        }
        try await publisher.flush()
        await publisher.disconnect()
        let seconds = Date().timeIntervalSince(start)
        print("published \(count) in \(String(format: "%.2f", seconds)) s (\(Int(Double(count) / seconds))/s)")
    }
}
