import Foundation
import StoreyConfig
import StoreyCore
import StoreyTestSupport
import Testing

/// `storey simulate` and `storey replay`, run as the real binary, publishing through a real mosquitto to the
/// real storeyd: every reading they send is accepted and stored.
@Suite(.timeLimit(.minutes(5)))
struct SimulateAndReplayTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let deploy = repository.appendingPathComponent("Deploy/config")
    /// Raw readings of the fixed dates below must not be pruned while the test counts them.
    static let keepReadings = "retention:\n  raw_readings: 100000d"
    /// Publishing at full speed outruns storeyd for a while; mosquitto's default (1,000 queued messages per
    /// client) would drop the rest, as it would in production: the broker is told to queue them all.
    static func broker() async throws -> TestBroker { try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0)) }

    /// The `published N readings` line a run ends with.
    static func published(_ output: String) -> Int? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("published ") }) else { return nil }
        return Int(line.split(separator: " ")[1])
    }

    static func rejected(_ daemon: StoreydProcess) async throws -> Double {
        try await daemon.metrics().filter { $0.key.hasPrefix("storey_readings_rejected_total") }.values.reduce(0, +)
    }

    @Test func wholeExampleTowerForASimulatedHourIsAcceptedWithoutARejection() async throws {
        let broker = try await Self.broker()
        defer { broker.stop() }
        let topology = try String(contentsOf: Self.deploy.appendingPathComponent("topology.yaml"), encoding: .utf8)
        let daemon = try StoreydProcess(topology: topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)", mqttSection: Self.keepReadings)
        try daemon.start()
        try await daemon.waitUntilReady()

        // A Wednesday morning's hour at full speed, with the example plan (underuse, dropouts, resets).
        let run = try await runCommand(CommandLineTests.storey, [
            "simulate", "--config", daemon.configFile, "--mqtt-url", daemon.brokerURL,
            "--plan", Self.deploy.appendingPathComponent("simulation.yaml").path,
            "--start", "2026-11-25T09:00:00+08:00", "--span", "1h", "--speed", "0", "--interval", "60", "--seed", "3",
        ], timeout: .seconds(120))
        #expect(run.status == 0, "\(run.errorOutput)")
        let published = try #require(Self.published(run.output), "\(run.output)")
        let points = Int(try await daemon.metric("storey_points"))
        #expect(points > 200)
        // Every point reads once a minute; only the planned dropouts leave gaps.
        #expect(published > 60 * points * 95 / 100 && published <= 60 * points)

        try await daemon.waitUntil("all readings stored", timeout: .seconds(60)) {
            try await daemon.metric("storey_readings_accepted_total") >= Double(published)
        }
        #expect(try await daemon.metric("storey_readings_accepted_total") == Double(published))
        #expect(try await Self.rejected(daemon) == 0)
        #expect(try await daemon.query("SELECT COUNT(*) FROM reading") == "\(published)")
        // Every point of the tower was heard.
        #expect(try await daemon.query("SELECT COUNT(DISTINCT point) FROM reading") == "\(points)")

        // The underuse is in the figures: the hoarder's floor uses a fraction of a busy one's energy per m².
        func intensity(_ tenant: String) async throws -> Double {
            let output = try await runCommand(CommandLineTests.storey, [
                "figures", "--config", daemon.configFile, "--database", daemon.databasePath, "--scope", "tenant:\(tenant)",
                "--resolution", "hour", "--json",
            ])
            let lines = output.output.split(separator: "\n")
            let object = try JSONSerialization.jsonObject(with: Data(lines.first { $0.contains("09:00") }!.utf8)) as! [String: Any]
            return object["energy_intensity_kwh_m2"] as! Double
        }
        let hoarder = try await intensity("hongtu-holdings")
        let busy = try await intensity("tengyue-electronics")
        #expect(hoarder > 0 && hoarder < busy * 0.2)
        try await daemon.stop()
    }

    @Test(.enabled(if: SharedData.isPresent, Comment(rawValue: SharedData.absent)))
    func recordedFloorLoadsReplayIntoStoreydCellForCell() async throws {
        let broker = try await Self.broker()
        defer { broker.stop() }
        // The CU-BEMS building's seven floors (areas not in the data: 1,800 m² each, as its README allows).
        let floors = (1...7).map { level in
            """
                  - level: \(level)
                    area: 1800
                    points:
                      - { id: cu-f\(level)-kw, quantity: power }
            """
        }.joined(separator: "\n")
        let topology = """
            buildings:
              - id: cu-bems
                time_zone: Asia/Bangkok
                land_area: 4000
                floors:
            \(floors)
            """
        let daemon = try StoreydProcess(topology: topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)", mqttSection: Self.keepReadings)
        try daemon.start()
        try await daemon.waitUntilReady()
        let file = SharedData.file("cubems/floors-hourly-kw.csv")
        var arguments = ["replay", file, "--config", daemon.configFile, "--mqtt-url", daemon.brokerURL, "--time-zone", "+07:00",
                         "--start", "2025-07-01T00:00:00+07:00", "--speed", "0"]
        for level in 1...7 { arguments += ["--map", "Floor\(level)=cu-f\(level)-kw"] }
        let run = try await runCommand(CommandLineTests.storey, arguments, timeout: .seconds(240))
        #expect(run.status == 0, "\(run.errorOutput)")
        #expect(run.output.contains("floors-hourly-kw.csv: 8760 rows read, 8760 usable, 61310 readings to publish"))
        #expect(run.output.contains("10 blank cells skipped (missing readings)"))
        // 8,760 hours of 7 floors, less the 10 blank cells.
        #expect(Self.published(run.output) == 61310)
        try await daemon.waitUntil("all readings stored", timeout: .seconds(120)) {
            try await daemon.metric("storey_readings_accepted_total") >= 61310
        }
        #expect(try await daemon.metric("storey_readings_accepted_total") == 61310)
        #expect(try await Self.rejected(daemon) == 0)
        #expect(try await daemon.query("SELECT COUNT(*) FROM reading") == "61310")
        // Shifted so that the first row (7/1/18 0:00 at +07:00) plays at 2025-07-01 00:00 +07:00.
        #expect(try await daemon.query("SELECT MIN(time) FROM reading") == "1751302800000")
        try await daemon.stop()
    }

    @Test(.enabled(if: SharedData.isPresent, Comment(rawValue: SharedData.absent)))
    func recordedRoomReplaysOccupancyPresenceAndSummedEnergy() async throws {
        let broker = try await Self.broker()
        defer { broker.stop() }
        let topology = """
            buildings:
              - id: robod
                time_zone: Asia/Singapore
                land_area: 2000
                floors:
                  - level: 4
                    area: 600
                    spaces:
                      - id: room1
                        area: 118.6
                        capacity: 40
                        points:
                          - { id: r1-people, quantity: occupancy }
                          - { id: r1-presence, quantity: presence }
                          - { id: r1-plug-kwh, quantity: energy }
            """
        let daemon = try StoreydProcess(topology: topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)", mqttSection: Self.keepReadings)
        try daemon.start()
        try await daemon.waitUntilReady()
        let file = SharedData.file("robod/room1-lecture.csv")
        let run = try await runCommand(CommandLineTests.storey, [
            "replay", file, "--config", daemon.configFile, "--mqtt-url", daemon.brokerURL, "--end=-1d", "--speed", "0",
            "--map", "occupant_count=r1-people", "--map", "occupant_presence=r1-presence", "--map", "plug_load_energy=r1-plug-kwh:sum",
        ], timeout: .seconds(240))
        #expect(run.status == 0, "\(run.errorOutput)")
        let published = try #require(Self.published(run.output), "\(run.output)")
        #expect(published == 3 * 8352)
        try await daemon.waitUntil("all readings stored", timeout: .seconds(120)) {
            try await daemon.metric("storey_readings_accepted_total") >= Double(published)
        }
        #expect(try await daemon.metric("storey_readings_accepted_total") == Double(published))
        #expect(try await Self.rejected(daemon) == 0)
        try await daemon.stop()
    }

    @Test func replayShiftsRecordedTimesByTheGivenDuration() async throws {
        let broker = try await Self.broker()
        defer { broker.stop() }
        let topology = """
            buildings:
              - id: lab
                time_zone: Asia/Shanghai
                land_area: 1000
                floors:
                  - level: 1
                    area: 500
                    spaces:
                      - id: bench
                        area: 100
                        capacity: 5
                        points:
                          - { id: bench-kw, quantity: power }
            """
        let daemon = try StoreydProcess(topology: topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)", mqttSection: Self.keepReadings)
        try daemon.start()
        try await daemon.waitUntilReady()
        // Three readings recorded three days ago, a minute apart; replayed a day later than recorded.
        let recorded = (Int64(Date().timeIntervalSince1970) / 60 - 3 * 1440) * 60
        let format = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "Asia/Shanghai")!).year().month().day().dateSeparator(.dash)
            .time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .colon)
        let rows = (0..<3).map { "\(Date(timeIntervalSince1970: Double(recorded + Int64($0) * 60)).formatted(format)),\(10 + $0)" }
        let file = try makeTemporaryDirectory(prefix: "storey-replay").appendingPathComponent("bench.csv").path
        try (["time,kw"] + rows).joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)

        let bad = try await runCommand(CommandLineTests.storey, [
            "replay", file, "--config", daemon.configFile, "--mqtt-url", daemon.brokerURL, "--map", "kw=bench-kw", "--shift", "a while",
        ])
        #expect(bad.status != 0)
        #expect(bad.errorOutput.contains("--shift \"a while\" is not a duration such as 2900d or -6h"), "\(bad.errorOutput)")

        let run = try await runCommand(CommandLineTests.storey, [
            "replay", file, "--config", daemon.configFile, "--mqtt-url", daemon.brokerURL, "--map", "kw=bench-kw", "--shift", "1d", "--speed", "0",
        ])
        #expect(run.status == 0, "\(run.errorOutput)")
        #expect(Self.published(run.output) == 3, "\(run.output)")
        try await daemon.waitUntil("the three readings stored") { try await daemon.metric("storey_readings_accepted_total") >= 3 }
        let times = try await daemon.query("SELECT GROUP_CONCAT(time) FROM (SELECT time FROM reading ORDER BY time)")
        #expect(times == (0..<3).map { String((recorded + 86_400 + Int64($0) * 60) * 1000) }.joined(separator: ","), "recorded times, one day later")
        try await daemon.stop()
    }

    @Test func replayRefusesAPointTheConfigurationLacks() async throws {
        let directory = try makeTemporaryDirectory(prefix: "storey-replay")
        let file = directory.appendingPathComponent("r.csv").path
        try "time,kw\n2026-11-25 08:00 +08:00,1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let run = try await runCommand(CommandLineTests.storey, [
            "replay", file, "--config", Self.deploy.appendingPathComponent("storey.yaml").path, "--map", "kw=no-such-point",
        ])
        #expect(run.status == 1)
        #expect(run.errorOutput.contains("--map kw=no-such-point: no point \"no-such-point\" in"))
    }

    @Test func simulateRefusesABrokenPlanNamingFileLineAndField() async throws {
        let directory = try makeTemporaryDirectory(prefix: "storey-simulate")
        let plan = directory.appendingPathComponent("plan.yaml").path
        try "underuse:\n  - { tenant: hongtu-holdings, scenario: idle }\nfaults:\n  - { point: no-such-kw, fault: dropout, every: 1h, for: 5m }\n"
            .write(toFile: plan, atomically: true, encoding: .utf8)
        let run = try await runCommand(CommandLineTests.storey, [
            "simulate", "--config", Self.deploy.appendingPathComponent("storey.yaml").path, "--plan", plan,
        ])
        #expect(run.status == 1)
        #expect(run.errorOutput.contains("storey simulate: \(plan):2: underuse[0].scenario: \"idle\" is not one of hoarding, line-stopped, dark"))
        try "faults:\n  - { point: no-such-kw, fault: dropout, every: 1h, for: 5m }\n".write(toFile: plan, atomically: true, encoding: .utf8)
        let unknown = try await runCommand(CommandLineTests.storey, [
            "simulate", "--config", Self.deploy.appendingPathComponent("storey.yaml").path, "--plan", plan,
        ])
        #expect(unknown.status == 1)
        #expect(unknown.errorOutput.contains("faults: no point \"no-such-kw\" in the topology"))
    }

    /// The latest weekday before today that the example tower's calendar works, in its own time zone.
    static func lastWorkingDay(_ configuration: Configuration) -> LocalDate {
        let zone = configuration.topology.buildings[0].timeZone
        let calendar = configuration.workingTimes.calendars[0] ?? .none
        var day = LocalInstant(milliseconds: Int64(Date().timeIntervalSince1970 * 1000), in: zone).date.adding(days: -1)
        while day.weekday.isWeekend || calendar.isHoliday(day) { day = day.adding(days: -1) }
        return day
    }

    @Test func plannedUnderuseRaisesTheExampleRulesAlertsAndBusyTenantsStayQuiet() async throws {
        let broker = try await Self.broker()
        defer { broker.stop() }
        let main = Self.deploy.appendingPathComponent("storey.yaml").path
        let configuration = try ConfigurationLoader.load(file: main)
        // The example rules and alerting, as Deploy/config/storey.yaml has them.
        let text = try String(contentsOfFile: main, encoding: .utf8)
        let rules = String(text[try #require(text.range(of: "\nalerting:")).lowerBound...])
            .replacingOccurrences(of: "evaluate_every: 15s", with: "evaluate_every: 1s")
        let topology = try String(contentsOf: Self.deploy.appendingPathComponent("topology.yaml"), encoding: .utf8)
        let daemon = try StoreydProcess(topology: topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)", mqttSection: rules)
        try daemon.start()
        try await daemon.waitUntilReady()

        // 06:00–12:00 of the last working day: the hoarder on level 17 and the dark space stay below a working
        // floor's 0.01 kWh per m² an hour for the rule's three working hours; the busy tenants do not.
        let day = Self.lastWorkingDay(configuration)
        let run = try await runCommand(CommandLineTests.storey, [
            "simulate", "--config", daemon.configFile, "--mqtt-url", daemon.brokerURL,
            "--plan", Self.deploy.appendingPathComponent("simulation.yaml").path,
            "--start", "\(day)T06:00:00+08:00", "--span", "6h", "--speed", "0",
        ], timeout: .seconds(180))
        #expect(run.status == 0, "\(run.errorOutput)")
        func firing(_ rule: String) async throws -> Set<String> {
            Set(try await daemon.query("SELECT scope_id FROM alert_transition WHERE rule = '\(rule)' AND to_state = 'firing'")
                .split(separator: "\n").map(String.init))
        }
        try await daemon.waitUntil("the hoarder's and the dark space's alerts fire", timeout: .seconds(90)) {
            try await firing("energy-intensity-low").isSuperset(of: ["hongtu-holdings", "beichen-semiconductor"])
        }
        let pendingOrFiring = Set(try await daemon.query("SELECT DISTINCT scope_id FROM alert_transition WHERE rule = 'energy-intensity-low'")
            .split(separator: "\n").map(String.init))
        for busy in ["xinda-electronics", "tengyue-electronics", "kanghe-medical", "qingyuan-battery", "ruike-machining"] {
            #expect(!pendingOrFiring.contains(busy), "\(busy) is busy, yet: \(pendingOrFiring.sorted())")
        }
        #expect(try await Self.rejected(daemon) == 0)
        try await daemon.stop()
    }
}
