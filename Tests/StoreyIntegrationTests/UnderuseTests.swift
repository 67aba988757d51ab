import Foundation
import StoreyCore
import StoreyIntake
import StoreyTestSupport
import Testing

/// Underuse judged by the real daemon from readings through a real broker: alerts fire, persist across a
/// restart, resolve from readings queued while it was down, and a silent sensor never looks like an empty
/// floor.
@Suite(.timeLimit(.minutes(3)))
struct UnderuseTests {
    static let topology = """
        topic_prefix: storey
        expected_interval: 60s
        buildings:
          - id: u
            time_zone: Asia/Shanghai
            land_area: 6666.7
            floors:
              - level: 1
                area: 1000
                spaces:
                  - id: quiet-space
                    area: 500
                    capacity: 30
                    points:
                      - { id: q-kwh, quantity: energy }
                  - id: ghost-space
                    area: 400
                    capacity: 20
                    points:
                      - { id: g-kwh, quantity: energy, expected_interval: 1s }   # silent within seconds
        tenants:
          - id: quiet
            leases: [{ space: quiet-space, start: 2020-01-01 }]
          - id: ghost
            leases: [{ space: ghost-space, start: 2020-01-01 }]
        """

    /// Evaluated every second; a grace long enough that no window of today closes during the test, so
    /// only the readings published here are judged.
    static let rules = """
        alerting:
          evaluate_every: 1s
          late_readings_grace: 10m
        rules:
          - name: energy-low
            scope: { kind: tenant }
            metric: energy_intensity
            window: hour
            condition: { below: 0.05 }
            for: 2h
            resolve: { margin_percent: 20 }
            annotations: { summary: "energy per m² far below a working floor's" }
          - name: silent
            scope: { kind: point }
            condition: { silent_intervals: 5 }
            severity: critical
        """

    static let shanghai = TimeZone(identifier: "Asia/Shanghai")!

    /// The latest weekday before today in Shanghai: in the default working hours (Mon–Fri 08–18) and
    /// within raw-reading retention.
    static var workingDay: LocalDate {
        let today = LocalInstant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000), in: shanghai).date
        var day = LocalDate(daysSinceEpoch: today.daysSinceEpoch - 1)
        while day.weekday == .saturday || day.weekday == .sunday { day = LocalDate(daysSinceEpoch: day.daysSinceEpoch - 1) }
        return day
    }

    /// A counter reading every minute from `from` to `to` (local minutes of `day`), rising `perMinute`.
    static func counter(
        _ topic: String, day: LocalDate, from: Int, to: Int, start: Double, perMinute: Double
    ) -> [(topic: String, payload: String)] {
        (from..<to).map { minute in
            let ms = LocalInstant(date: day, minuteOfDay: minute).milliseconds(in: shanghai)
            return (topic, "{\"value\": \(start + Double(minute - from) * perMinute), \"ts\": \(Double(ms) / 1000)}")
        }
    }

    /// The rule's transitions as "SCOPE:FROM>TO", oldest first, looking past windows first judged on part
    /// of their readings: on a loaded machine the test's publisher can pause mid-window, the window is
    /// judged "no data" (pending → inactive: missing data is not underuse) and judged again once the rest
    /// arrive (inactive → pending). That flap is right, and changes nothing an operator is sent.
    func transitions(_ daemon: StoreydProcess, rule: String) async throws -> [String] {
        let rows = try await daemon.query("""
            SELECT scope_id || ':' || from_state || '>' || to_state || ':' || reason FROM alert_transition WHERE rule = '\(rule)' ORDER BY id
            """).split(separator: "\n").map { row -> (transition: String, reason: String) in
                let cut = row.lastIndex(of: ":")!
                return (String(row[..<cut]), String(row[row.index(after: cut)...]))
            }
        var settled: [String] = []
        var index = 0
        while index < rows.count {
            let row = rows[index]
            if row.reason == "no_data", row.transition.hasSuffix(":pending>inactive"), index + 1 < rows.count,
                rows[index + 1].transition == row.transition.replacingOccurrences(of: ":pending>inactive", with: ":inactive>pending")
            {
                index += 2
                continue
            }
            settled.append(row.transition)
            index += 1
        }
        return settled
    }

    @Test func anUnderusedTenantFiresASilentOneDoesNotAndStatePersistsAcrossRestart() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let daemon = try StoreydProcess(topology: Self.topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)", mqttSection: Self.rules)
        try daemon.start()
        try await daemon.waitUntilReady()
        let day = Self.workingDay

        // 08:00–12:00: the quiet tenant's meter barely moves (0.6 kWh an hour on 500 m²); the ghost's
        // meter reports for 20 minutes and then falls silent.
        var readings = Self.counter("storey/u/1/quiet-space/q-kwh", day: day, from: 8 * 60, to: 12 * 60, start: 1000, perMinute: 0.01)
        readings += Self.counter("storey/u/1/ghost-space/g-kwh", day: day, from: 8 * 60, to: 8 * 60 + 20, start: 500, perMinute: 0.01)
        try await publishReadings(readings, port: broker.port)
        var seen: [String] = []
        do {
            try await daemon.waitUntil("the quiet tenant's alert fires", timeout: .seconds(60)) {
                seen = try await transitions(daemon, rule: "energy-low")
                return seen == ["quiet:inactive>pending", "quiet:pending>firing"]
            }
        } catch {
            throw TestSupportError("\(error)\nenergy-low transitions: \(seen)")
        }
        // Missing data is not underuse: the ghost's gaps are "no data", and its silent meter alerts instead
        // (5 of its 1-second intervals after its last reading arrived).
        // (On a loaded machine its 20 readings may come more than 5 s apart, and it is rightly silent in
        // between: wait for the silence after the last.)
        try await daemon.waitUntil("the ghost's meter is reported silent") {
            let silent = try await transitions(daemon, rule: "silent")
            return silent.contains("g-kwh:inactive>firing") && silent.last?.hasSuffix(">firing") == true
        }
        #expect(try await transitions(daemon, rule: "energy-low").allSatisfy { !$0.hasPrefix("ghost") })
        // /metrics says so: one tenant's windows held, the other's were "no data".
        let metrics = try await daemon.metrics()
        #expect(metrics["storey_alerts{state=\"firing\"}"].map { $0 >= 2 } == true, "\(metrics.filter { $0.key.hasPrefix("storey_alerts") })")
        #expect(metrics["storey_rule_scopes{rule=\"energy-low\",result=\"holds\"}"] == 1)
        #expect(metrics["storey_rule_scopes{rule=\"energy-low\",result=\"no_data\"}"] == 1)
        #expect(try await daemon.query("SELECT kind FROM outbox WHERE fingerprint IN (SELECT fingerprint FROM alert WHERE rule = 'energy-low')") == "firing")

        let notification = try await daemon.query("SELECT notification FROM outbox WHERE kind = 'firing' AND notification LIKE '%energy-low%'")
        #expect(notification.contains("\"scopeID\":\"quiet\"") && notification.contains("\"tenant\":\"quiet\""))
        #expect(notification.contains("energy per m² far below"))

        // The API lists it; an operator acknowledges it, takes that back, and silences the tenant.
        let open = try await daemon.http("GET", "/api/v1/alerts?tenant=quiet&state=firing")
        #expect(open.status == 200 && open.body.contains("\"rule\":\"energy-low\"") && open.body.contains("\"scope\":\"tenant:quiet\""), "\(open)")
        let fingerprint = try await daemon.query("SELECT fingerprint FROM alert WHERE rule = 'energy-low'")
        let acknowledged = try await daemon.http("POST", "/api/v1/alerts/\(fingerprint)/acknowledgement", json: #"{"by": "li.wei", "comment": "line moved to floor 9"}"#)
        #expect(acknowledged.status == 200 && acknowledged.body.contains("\"by\":\"li.wei\""), "\(acknowledged)")
        #expect(try await daemon.http("DELETE", "/api/v1/alerts/\(fingerprint)/acknowledgement?by=li.wei").status == 200)
        let again = try await daemon.http("DELETE", "/api/v1/alerts/\(fingerprint)/acknowledgement")
        #expect(again.status == 409 && again.body.contains("not-acknowledged"), "\(again)")
        let history = try await daemon.http("GET", "/api/v1/alerts/\(fingerprint)")
        #expect(history.body.contains("\"reason\":\"acknowledged\"") && history.body.contains("\"reason\":\"unacknowledged\""), "\(history.body)")
        let unknown = try await daemon.http("GET", "/api/v1/alerts/0123456789abcdef")
        #expect(unknown.status == 404 && unknown.body.contains("no alert 0123456789abcdef"))
        let silence = try await daemon.http("POST", "/api/v1/silences", json: #"{"matchers": [{"name": "tenant", "value": "quiet", "isNegative": false}], "endsAt": "2099-01-01T00:00:00Z", "createdBy": "li.wei", "comment": "moving"}"#)
        #expect(silence.status == 201 && silence.body.contains("\"active\":true"), "\(silence)")
        let silenced = try await daemon.http("GET", "/api/v1/alerts/\(fingerprint)")
        #expect(silenced.body.contains("\"silenced\":true"), "\(silenced.body)")
        let silenceID = try await daemon.query("SELECT id FROM silence")
        #expect(try await daemon.http("DELETE", "/api/v1/silences/\(silenceID)").status == 204)
        // The silence ended with the alert still firing: the outbox is told at once, not at the next reminder.
        try await daemon.waitUntil("a notice once the silence ends") {
            try await daemon.query("SELECT COUNT(*) FROM outbox WHERE kind = 'firing' AND notification LIKE '%energy-low%'") == "2"
        }

        // The operator's tool lists it.
        let listed = try await runCommand(CommandLineTests.storey, ["alerts", "--config", daemon.configFile, "--database", daemon.databasePath])
        #expect(listed.status == 0)
        #expect(listed.output.split(separator: "\n").contains { $0.contains("\tfiring\tenergy-low\ttenant:quiet\t") }, "\(listed.output)")

        // Stopped; meanwhile the quiet tenant gets to work (120 kWh an hour) and the broker queues it.
        #expect(try await daemon.stop() == 0)
        try await publishReadings(
            Self.counter("storey/u/1/quiet-space/q-kwh", day: day, from: 12 * 60, to: 14 * 60, start: 1002.4, perMinute: 2),
            port: broker.port)
        try daemon.start()
        try await daemon.waitUntilReady()
        // The resolve that happened during downtime is emitted after restart, once; nothing is repeated.
        try await daemon.waitUntil("the alert resolves from readings queued while down", timeout: .seconds(30)) {
            try await transitions(daemon, rule: "energy-low").last == "quiet:firing>resolved"
        }
        try await Task.sleep(for: .seconds(3))   // a few more ticks: nothing more may happen
        #expect(try await transitions(daemon, rule: "energy-low") == [
            "quiet:inactive>pending", "quiet:pending>firing", "quiet:firing>firing", "quiet:firing>firing", "quiet:firing>resolved",
        ])
        #expect(try await daemon.query("""
            SELECT group_concat(kind, ',') FROM (SELECT kind FROM outbox WHERE notification LIKE '%"rule":"energy-low"%' ORDER BY id)
            """) == "firing,firing,resolved")
        #expect(try await transitions(daemon, rule: "silent").filter { $0 == "g-kwh:inactive>firing" }.count == 1)
        #expect(try await daemon.stop() == 0)
    }

    @Test func aPendingAlertKeepsCountingAcrossAKill9AndNothingIsEmittedTwice() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let daemon = try StoreydProcess(topology: Self.topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)", mqttSection: Self.rules)
        try daemon.start()
        try await daemon.waitUntilReady()
        let day = Self.workingDay
        let topic = "storey/u/1/quiet-space/q-kwh"

        // One underused working hour: pending, 1 of the 2 hours `for` asks.
        try await publishReadings(Self.counter(topic, day: day, from: 8 * 60, to: 9 * 60, start: 1000, perMinute: 0.01), port: broker.port)
        try await daemon.waitUntil("the alert is pending", timeout: .seconds(30)) {
            try await transitions(daemon, rule: "energy-low") == ["quiet:inactive>pending"]
        }
        daemon.kill9()
        try daemon.start()
        try await daemon.waitUntilReady()
        try await Task.sleep(for: .seconds(3))   // restored, judging again: nothing repeats
        #expect(try await transitions(daemon, rule: "energy-low") == ["quiet:inactive>pending"])

        // The second hour completes the `for` counted before the kill.
        try await publishReadings(Self.counter(topic, day: day, from: 9 * 60, to: 10 * 60, start: 1000.6, perMinute: 0.01), port: broker.port)
        try await daemon.waitUntil("the pending alert fires", timeout: .seconds(30)) {
            try await transitions(daemon, rule: "energy-low") == ["quiet:inactive>pending", "quiet:pending>firing"]
        }
        #expect(try await daemon.query("SELECT COUNT(*) FROM outbox WHERE notification LIKE '%\"rule\":\"energy-low\"%'") == "1")
        #expect(try await daemon.stop() == 0)
    }
}
