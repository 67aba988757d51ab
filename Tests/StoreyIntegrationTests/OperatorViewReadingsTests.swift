import Foundation
import StoreyCore
import StoreyTestSupport
import Testing

/// What an operator reads from a real storeyd about readings published through a real broker: a report's
/// water figures, and the live stream telling of a point that fell silent.
@Suite(.timeLimit(.minutes(3)))
struct OperatorViewReadingsTests {
    /// One tenant on 500 m² with a water meter, and a power meter expected every second (watched for silence).
    static let topology = """
        topic_prefix: storey
        expected_interval: 60s
        buildings:
          - id: w
            time_zone: Asia/Shanghai
            land_area: 6666.7
            floors:
              - level: 1
                area: 1000
                spaces:
                  - id: s1
                    area: 500
                    capacity: 30
                    points:
                      - { id: s1-water, quantity: water, unit: m3 }
                      - { id: s1-kw, quantity: power, expected_interval: 1s }
                  - id: s2
                    area: 400
                    capacity: 20
                    points:
                      - { id: s2-water, quantity: water, unit: m3 }
        tenants:
          - id: alpha
            leases: [{ space: s1, start: 2020-01-01 }]
        """

    static let rules = """
        alerting:
          evaluate_every: 1s
        rules:
          - name: silent
            scope: { kind: point, ids: [s1-kw] }
            condition: { silent_intervals: 3 }
            severity: critical
        """

    static let shanghai = TimeZone(identifier: "Asia/Shanghai")!

    static func startDaemon(_ broker: TestBroker) async throws -> StoreydProcess {
        let daemon = try StoreydProcess(topology: topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)", mqttSection: rules)
        try daemon.start()
        try await daemon.waitUntilReady()
        return daemon
    }

    @Test func aTenantsReportShowsItsWaterAndWaterPerSquareMetreFromThePublishedReadings() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let daemon = try await Self.startDaemon(broker)
        // Yesterday in Shanghai, 09:00–09:40: alpha's meter rises 0.25 m³ a minute from 1234.5 (10 m³ in
        // all); the vacant s2's meter rises too, which is nobody's water.
        let today = LocalInstant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000), in: Self.shanghai).date
        let day = LocalDate(daysSinceEpoch: today.daysSinceEpoch - 1)
        func meter(_ topic: String, start: Double, perMinute: Double) -> [(topic: String, payload: String)] {
            (0...40).map { minute in
                let ms = LocalInstant(date: day, minuteOfDay: 9 * 60 + minute).milliseconds(in: Self.shanghai)
                return (topic, "{\"value\": \(start + Double(minute) * perMinute), \"ts\": \(Double(ms) / 1000)}")
            }
        }
        try await publishReadings(
            meter("storey/w/1/s1/s1-water", start: 1234.5, perMinute: 0.25) + meter("storey/w/1/s2/s2-water", start: 50, perMinute: 1),
            port: broker.port)
        let period = "from=\(day)&to=\(day)"
        var line: [String: Any] = [:]
        do {
            try await daemon.waitUntil("the water readings reported", timeout: .seconds(60)) {
                let body = try await daemon.httpBody("/api/v1/reports/tenants?tenant=alpha&\(period)")
                let report = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                line = (report?["lines"] as? [[String: Any]])?.first ?? [:]
                return (line["readings"] as? [String: Any])?["water"] as? Int == 41
            }
        } catch {
            throw TestSupportError("\(error)\nlast report line: \(line)")
        }
        #expect(line["id"] as? String == "alpha")
        #expect(line["leasedArea"] as? Double == 500)
        #expect(line["water"] as? Double == 10, "\(line)")
        #expect(line["waterIntensity"] as? Double == 10.0 / 500, "\(line)")

        // The month too (the lease covers all of it), and as CSV.
        let month = String(day.description.prefix(7))
        let monthly = try JSONSerialization.jsonObject(with: Data(try await daemon.httpBody("/api/v1/reports/tenants?tenant=alpha&month=\(month)").utf8)) as? [String: Any]
        let monthLine = try #require((monthly?["lines"] as? [[String: Any]])?.first, "\(monthly ?? [:])")
        #expect(monthLine["water"] as? Double == 10)
        #expect(monthLine["waterIntensity"] as? Double == 0.02)
        let csv = try await daemon.httpBody("/api/v1/reports/tenants?tenant=alpha&\(period)&format=csv")
        let rows = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        try #require(rows.count == 2, "\(csv)")
        let fields = Dictionary(zip(rows[0], rows[1]), uniquingKeysWith: { first, _ in first })
        #expect(fields["water"] == "10", "\(csv)")
        #expect(fields["waterIntensity"] == "0.02", "\(csv)")
        #expect(fields["leasedArea"] == "500")

        // The building's report counts both meters over the leased area (s1's 500 m²): 50 m³.
        let building = try JSONSerialization.jsonObject(with: Data(try await daemon.httpBody("/api/v1/reports/buildings?\(period)").utf8)) as? [String: Any]
        let buildingLine = try #require((building?["lines"] as? [[String: Any]])?.first, "\(building ?? [:])")
        #expect(buildingLine["water"] as? Double == 50, "\(buildingLine)")
        #expect(buildingLine["waterIntensity"] as? Double == 50.0 / 500, "\(buildingLine)")
        #expect(try await daemon.stop() == 0)
    }

    @Test func theEventStreamTellsAConnectedClientThatAWatchedPointFellSilent() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let daemon = try await Self.startDaemon(broker)
        // A client on the stream, as the dashboard is, from before the point reports at all.
        let streamFile = daemon.directory.appendingPathComponent("events.txt").path
        let client = try ChildProcess("/usr/bin/curl", ["-s", "-N", "http://127.0.0.1:\(daemon.httpPort)/api/v1/events"], outputFile: streamFile)
        defer { client.stop() }
        var stream: String { (try? String(contentsOfFile: streamFile, encoding: .utf8)) ?? "" }
        try await daemon.waitUntil("the stream open") { stream.contains("event: status") }

        // The power meter reports every half second for a few seconds, then falls silent (3 of its
        // 1-second intervals, judged every second).
        for _ in 0..<8 {
            try await publishReadings([("storey/w/1/s1/s1-kw", "{\"value\": 42, \"ts\": \(Date().timeIntervalSince1970)}")], port: broker.port)
            try await Task.sleep(for: .milliseconds(500))
        }
        let lastReading = Date()
        func silences() -> [[String: Any]] {
            stream.components(separatedBy: "\n\n").compactMap { block -> [String: Any]? in
                let lines = block.split(separator: "\n")
                guard lines.contains("event: alert"), let data = lines.first(where: { $0.hasPrefix("data: ") }) else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(data.dropFirst(6).utf8)) as? [String: Any]
            }
        }
        func firedAfterLastReading(_ event: [String: Any]) -> Bool {
            guard event["to"] as? String == "firing", let time = (event["time"] as? String).flatMap({ try? Date($0, strategy: .iso8601) }) else { return false }
            return time >= lastReading.addingTimeInterval(-1)
        }
        do {
            try await daemon.waitUntil("an alert event for the silent point", timeout: .seconds(60)) {
                silences().contains(where: firedAfterLastReading)
            }
        } catch {
            throw TestSupportError("\(error)\nstream:\n\(stream.suffix(4000))")
        }
        let event = try #require(silences().last(where: firedAfterLastReading))
        #expect(event["rule"] as? String == "silent")
        #expect(event["scope"] as? String == "point:s1-kw")
        #expect(event["severity"] as? String == "critical")
        #expect(event["building"] as? String == "w")
        #expect(event["tenant"] as? String == "alpha", "the silent point's tenant, for the dashboard's alert history: \(event)")
        // A resumable event: it carries an id, so a reconnecting client gets it with Last-Event-ID.
        let block = try #require(stream.components(separatedBy: "\n\n").last { $0.contains("event: alert") && $0.contains("\"to\":\"firing\"") })
        #expect(block.hasPrefix("id: "), "\(block)")
        // The alert the event told of is the one the API lists as firing.
        let fingerprint = try #require(event["fingerprint"] as? String)
        let alert = try await daemon.http("GET", "/api/v1/alerts/\(fingerprint)")
        #expect(alert.status == 200 && alert.body.contains("\"state\":\"firing\""), "\(alert)")
        client.stop()
        #expect(try await daemon.stop() == 0)
    }
}
