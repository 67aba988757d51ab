import Foundation
import StoreyTestSupport
import Testing

/// `storey simulate --speed` and `storey replay --speed`: played time runs that many times faster than the
/// wall clock (the demo's "a day in ten minutes"), paced rather than as fast as possible, and storeyd stores
/// the readings at their played times.
@Suite(.timeLimit(.minutes(3)))
struct PlaybackSpeedTests {
    static let topology = """
        buildings:
          - id: t
            time_zone: Asia/Shanghai
            land_area: 2000
            floors:
              - level: 1
                area: 1000
                spaces:
                  - id: s1
                    area: 800
                    capacity: 40
                    points:
                      - { id: s1-kw, quantity: power }
                      - { id: s1-people, quantity: occupancy }
        tenants:
          - id: t1
            name: T1
            labels: { activity: electronics-assembly }
            leases:
              - { space: s1, start: 2020-01-01 }
        """

    @Test func twoSimulatedHoursAt1440TimesTakeFiveWallSeconds() async throws {
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
        defer { broker.stop() }
        let daemon = try StoreydProcess(topology: Self.topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
        try daemon.start()
        try await daemon.waitUntilReady()

        let started = ContinuousClock.now
        let run = try await runCommand(CommandLineTests.storey, [
            "simulate", "--config", daemon.configFile, "--mqtt-url", daemon.brokerURL,
            "--start=-2h", "--span", "2h", "--speed", "1440", "--interval", "60", "--seed", "9",
        ], timeout: .seconds(60))
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 0, "\(run.errorOutput)")
        // 7,200 simulated seconds / 1,440 = 5 wall seconds: not instantly (--speed 0), not in real time (1).
        #expect(elapsed >= .milliseconds(4_500), "took \(elapsed)")
        #expect(elapsed < .seconds(20), "took \(elapsed)")
        // A reading per point a simulated minute, over the whole two hours.
        #expect(run.output.contains("published 240 readings"), "\(run.output)")
        try await daemon.waitUntil("all readings stored", timeout: .seconds(30)) {
            try await daemon.metric("storey_readings_accepted_total") >= 240
        }
        let span = try await daemon.query("SELECT MAX(time) - MIN(time) FROM reading WHERE point = (SELECT id FROM point WHERE key = 's1-kw')")
        // Each point reads at a fixed phase of its minute: 119 minutes from the first reading to the last.
        #expect(span == "7140000", "s1-kw readings span \(span) ms")
        _ = try await daemon.stop()
    }

    @Test func halfAnHourOfRecordingAt360TimesTakesFiveWallSecondsEndingAnHourAgo() async throws {
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
        defer { broker.stop() }
        let daemon = try StoreydProcess(topology: Self.topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
        try daemon.start()
        try await daemon.waitUntilReady()
        let file = daemon.directory.appendingPathComponent("recorded.csv").path
        try """
            time,load
            2021-09-07 08:00 +08:00,10.5
            2021-09-07 08:10 +08:00,11
            2021-09-07 08:20 +08:00,12
            2021-09-07 08:30 +08:00,9.25

            """.write(toFile: file, atomically: true, encoding: .utf8)

        let started = ContinuousClock.now
        let wallStart = Int64(Date().timeIntervalSince1970 * 1000)
        let run = try await runCommand(CommandLineTests.storey, [
            "replay", file, "--config", daemon.configFile, "--mqtt-url", daemon.brokerURL,
            "--map", "load=s1-kw", "--end=-1h", "--speed", "360",
        ], timeout: .seconds(60))
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 0, "\(run.errorOutput)")
        // 1,800 recorded seconds / 360 = 5 wall seconds.
        #expect(elapsed >= .milliseconds(4_500), "took \(elapsed)")
        #expect(elapsed < .seconds(20), "took \(elapsed)")
        #expect(run.output.contains("published 4 readings from 4 rows"), "\(run.output)")
        try await daemon.waitUntil("all readings stored", timeout: .seconds(30)) {
            try await daemon.metric("storey_readings_accepted_total") >= 4
        }
        // Shifted as a whole: ten minutes apart, the last an hour before the replay started.
        let times = try await daemon.query("SELECT time FROM reading ORDER BY time").split(separator: "\n").compactMap { Int64($0) }
        #expect(times.count == 4)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1 - $0 == 600_000 }, "\(times)")
        let last = try #require(times.last)
        #expect(abs(last - (wallStart - 3_600_000)) < 5_000, "last reading at \(last), replay started at \(wallStart)")
        _ = try await daemon.stop()
    }
}
