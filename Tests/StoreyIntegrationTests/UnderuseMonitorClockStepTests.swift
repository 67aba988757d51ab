import Foundation
import Logging
import StoreyConfig
import StoreyCore
import StoreyDaemon
import StoreyStore
import StoreyTestSupport
import Synchronization
import Testing

/// The host's clock stepped forward by hours and back by minutes (NTP, an operator's `date -s`, a virtual
/// machine resumed) under the underuse monitor and a real store, as storeyd wires them: one
/// `SteadyWallClock` for both, here over a wall clock and a monotonic clock in the test's hands.
/// docs/proof.md, "Faults".
@Suite struct UnderuseMonitorClockStepTests {
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
                  - id: a-space
                    area: 500
                    capacity: 30
                    points:
                      - { id: a-kwh, quantity: energy }
                  - id: b-space
                    area: 400
                    capacity: 20
                    points:
                      - { id: b-kwh, quantity: energy }
        tenants:
          - id: alpha
            leases: [{ space: a-space, start: 2020-01-01 }]
        """

    static let rules = """
        alerting:
          evaluate_every: 1s
          late_readings_grace: 1m
        rules:
          - name: silent
            scope: { kind: point }
            condition: { silent_intervals: 5 }
        """

    final class Clocks: Sendable {
        let wall: Mutex<Int64>
        let monotonic = Mutex<Int64>(0)
        /// The devices' own clocks, which do not step with the host's.
        let device: Mutex<Int64>
        let transitions = Mutex<[String]>([])
        /// Commits that put notifications in the outbox.
        let notifications = Mutex(0)
        init(wall: Int64) {
            self.wall = Mutex(wall)
            device = Mutex(wall)
        }
    }

    struct Rig {
        let store: ReadingStore
        let monitor: UnderuseMonitor
        let clocks: Clocks
        let steady: SteadyWallClock
        var values: [Double] = [100, 100]

        init() throws {
            let directory = try makeTemporaryDirectory(prefix: "storey-clock-step")
            let main = try StoreydProcess.writeConfiguration(in: directory, topology: Self.topology, mqttSection: Self.rules)
            let configuration = try ConfigurationLoader.load(file: main)
            // A whole minute, so that the test's minutes line up with windows.
            let clocks = Clocks(wall: Int64(Date().timeIntervalSince1970 / 60) * 60_000)
            self.clocks = clocks
            let steady = SteadyWallClock(wall: { clocks.wall.withLock { $0 } }, monotonic: { clocks.monotonic.withLock { $0 } })
            self.steady = steady
            store = try ReadingStore(path: directory.appendingPathComponent("storey.db").path, topology: configuration.topology, now: { steady.now() })
            monitor = try UnderuseMonitor(
                configuration: configuration, store: store, logger: Logger(label: "clock-step-test"), now: { steady.now() },
                caughtUp: { true }, connected: { true }, monotonic: { clocks.monotonic.withLock { $0 } })
            monitor.onOutboxChanged { clocks.notifications.withLock { $0 += 1 } }
            monitor.onTransitions { recorded in
                clocks.transitions.withLock { $0 += recorded.map { "\($0.transition.scopeID):\($0.transition.from.rawValue)>\($0.transition.to.rawValue)" } }
            }
        }

        static let topology = UnderuseMonitorClockStepTests.topology
        static let rules = UnderuseMonitorClockStepTests.rules

        /// One minute passes on every clock; the points in `reporting` send a reading stamped by their own clock; a tick.
        mutating func minute(reporting points: [Int]) throws {
            clocks.wall.withLock { $0 += 60_000 }
            clocks.monotonic.withLock { $0 += 60_000 }
            let time = clocks.device.withLock { $0 += 60_000; return $0 }
            for point in points { values[point] += 1 }
            if !points.isEmpty {
                monitor.stored(try store.ingest(points.map { Reading(point: $0, time: time, value: values[$0]) }))
            }
            try monitor.tick()
        }

        /// The host's clock jumps by `step` while a second passes.
        func step(_ step: Duration) throws {
            clocks.wall.withLock { $0 += Int64(step.components.seconds) * 1000 }
            clocks.monotonic.withLock { $0 += 1000 }
            try monitor.tick()
        }

        var recorded: [String] { clocks.transitions.withLock { $0 } }
        var notifications: Int { clocks.notifications.withLock { $0 } }
    }

    /// Three hours ahead at once: every point's last reading is suddenly hours old, yet nothing fell
    /// silent. Silence is counted from the step, so a point that really stops after it is still found,
    /// five intervals later, not at once.
    @Test func aForwardStepOfHoursIsNoSilentPointFlood() throws {
        var rig = try Rig()
        for _ in 0..<10 { try rig.minute(reporting: [0, 1]) }
        try rig.monitor.tick()
        try rig.step(.seconds(3 * 3600))
        #expect(rig.recorded.isEmpty, "silent points claimed after the clock stepped forward: \(rig.recorded)")
        // Point a goes on reporting; b stops at the step.
        for _ in 0..<5 { try rig.minute(reporting: [0]) }
        #expect(rig.recorded.isEmpty, "\(rig.recorded)")
        try rig.minute(reporting: [0])
        #expect(rig.recorded == ["b-kwh:inactive>firing"])
    }

    /// Ten minutes back while point b is silent (its alert firing): the alert neither resolves nor fires
    /// again, a point that goes on reporting is not called silent, and time does not stand still: b's
    /// reading resolves the alert at once, and a point that stops after the step is found, late by at
    /// most the step.
    @Test func aBackwardStepOfMinutesUndoesNothingAndStallsNoTimer() throws {
        var rig = try Rig()
        for _ in 0..<10 { try rig.minute(reporting: [0, 1]) }
        for _ in 0..<6 { try rig.minute(reporting: [0]) }
        #expect(rig.recorded == ["b-kwh:inactive>firing"])

        let before = rig.steady.now()
        try rig.step(.seconds(-600))
        #expect(rig.steady.now() >= before, "time went back")
        for _ in 0..<12 { try rig.minute(reporting: [0]) }
        #expect(rig.recorded == ["b-kwh:inactive>firing"], "a step back undid or repeated a transition: \(rig.recorded)")

        // b reports: resolved on that tick, once.
        try rig.minute(reporting: [0, 1])
        #expect(rig.recorded == ["b-kwh:inactive>firing", "b-kwh:firing>resolved"])
        // Both stop. Five intervals of silence, on a clock still catching up (it runs at half speed until the
        // host's clock has caught up, 20 minutes after the step): found within ten minutes.
        var minutes = 0
        while !rig.recorded.contains("a-kwh:inactive>firing") && minutes < 20 {
            try rig.minute(reporting: [])
            minutes += 1
        }
        #expect((6...11).contains(minutes), "a point silent after a step back found after \(minutes) minutes: \(rig.recorded)")
        #expect(rig.recorded.filter { $0.hasPrefix("b-kwh:") }.count == 3, "\(rig.recorded)")
    }

    /// An operator silences a firing alert; a minute later the host's clock steps back ten minutes, to
    /// before the silence began. The silence holds: the alert is not notified as if it had been lifted
    /// (and again when it ends for real).
    @Test func aBackwardStepDoesNotLiftASilenceJustBegun() throws {
        var rig = try Rig()
        for _ in 0..<10 { try rig.minute(reporting: [0, 1]) }
        for _ in 0..<6 { try rig.minute(reporting: [0]) }
        #expect(rig.recorded == ["b-kwh:inactive>firing"])
        let notified = rig.notifications
        #expect(notified == 1)
        let now = rig.steady.now()
        try rig.monitor.addSilence(Silence(
            id: "s1", matchers: [LabelMatcher("point", "b-kwh")], start: now, end: now + 3_600_000, creator: "operator", comment: "known"))
        try rig.minute(reporting: [0])
        try rig.step(.seconds(-600))
        for _ in 0..<12 { try rig.minute(reporting: [0]) }
        #expect(rig.notifications == notified, "the silence was lifted by the clock stepping back")
    }
}
