import ArgumentParser
import Foundation
import StoreyConfig
import StoreyCore
import StoreyReplay
import StoreySimulation

/// Publishes a recorded CSV over MQTT: mapped columns to their points' topics, in the recorded rhythm
/// (shifted in time, `--speed` times faster), and reports the rows and cells it could not use.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a recorded CSV's readings over MQTT, column by column to points of the configuration.",
        discussion: """
            The first column (or --time-column) holds the time; each --map COLUMN=POINT publishes a column to a \
            point's topic. COLUMN=POINT:sum publishes a column of amounts per interval (kWh per 5 minutes) as \
            their running total, for a counter point. Times are shifted by --shift, or so that the first row \
            plays at --start or the last at --end, and never published ahead of the wall clock.
            Example: storey replay ../shared/data/cubems/floors-hourly-kw.csv --config storey.yaml \
            --time-zone +07:00 --map Floor1=cu-f1-kw --map Floor2=cu-f2-kw --end now --speed 0
            """)
    @OptionGroup var options: ConfigOption

    @OptionGroup var recordingOptions: RecordingOptions

    @Option(parsing: .unconditional, help: "Move every time by this much: 2900d, -6h.")
    var shift: String?

    @Option(parsing: .unconditional, help: "The first row plays at this time (now, -7d, 2026-11-01, RFC 3339).")
    var start: String?

    @Option(parsing: .unconditional, help: "The last row plays at this time (now, -1h, RFC 3339).")
    var end: String?

    @Option(help: "Recorded seconds per wall-clock second; 0: as fast as the broker takes them.")
    var speed: Double = 0

    @Option(help: "QoS to publish with.")
    var qos: Int = 1

    func validate() throws {
        guard [shift, start, end].compactMap({ $0 }).count <= 1 else { throw ValidationError("give one of --shift, --start and --end") }
        guard speed >= 0 else { throw ValidationError("--speed must not be negative") }
        guard (0...2).contains(qos) else { throw ValidationError("--qos must be 0, 1 or 2") }
    }

    func run() async throws {
        let configuration = try options.load()
        let topology = configuration.topology
        let (recording, pointIndices) = try recordingOptions.load(topology, config: options.config, failure: Self.failure)
        let zone = try recordingOptions.zone(failure: Self.failure)
        let file = recordingOptions.file
        recordingOptions.report(recording, readingsAre: "to publish")
        guard let first = recording.rows.first?.time, let last = recording.rows.map(\.time).max() else {
            throw Self.failure("\(file): no row can be replayed")
        }

        let now = Simulate.nowMilliseconds()
        let zoneForDates = zone ?? topology.buildings.first?.timeZone ?? .gmt
        var offset: Int64 = 0
        if let shift {
            let negative = shift.hasPrefix("-")
            guard let seconds = PlaybackTime.duration(negative || shift.hasPrefix("+") ? String(shift.dropFirst()) : shift) else {
                throw Self.failure("--shift \"\(shift)\" is not a duration such as 2900d or -6h")
            }
            offset = (negative ? -1 : 1) * Int64(seconds * 1000)
        } else if let start {
            guard let time = PlaybackTime.instant(start, now: now, timeZone: zoneForDates) else { throw Self.failure("--start \"\(start)\" is not a time") }
            offset = time - first
        } else if let end {
            guard let time = PlaybackTime.instant(end, now: now, timeZone: zoneForDates) else { throw Self.failure("--end \"\(end)\" is not a time") }
            offset = time - last
        }
        if last + offset > now {
            say("note: the last row plays at \(Date(timeIntervalSince1970: Double(last + offset) / 1000)), after now: rows wait for their time")
        }

        let clock = PlaybackClock(start: first + offset, wallStart: now, speed: speed)
        let publisher = try await Publishing.connect(configuration, name: "replay")
        var published = 0
        for row in recording.rows {
            let time = row.time + offset
            let due = clock.wallTime(reaching: time)
            let wallNow = Simulate.nowMilliseconds()
            if due > wallNow { try await Task.sleep(for: .milliseconds(due - wallNow)) }
            for (mapping, value) in row.values {
                let point = topology.points[pointIndices[mapping]]
                let payload = PayloadShape.valueObject.payload(value: value, time: time, quantity: point.quantity, unit: point.unit)
                try await publisher.publish(topic: point.topic, payload: Array(payload.utf8), qos: qos)
                published += 1
            }
        }
        try await publisher.flush()
        await publisher.disconnect()
        say("published \(published) readings from \(recording.rows.count) rows")
    }

    static func failure(_ message: String) -> ExitCode { commandFailure("replay", message) }
}
