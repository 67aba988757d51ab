import Foundation
import Logging
import StoreyConfig
import StoreyCore
import StoreyDaemon
import StoreyStore
import StoreyTestSupport
import Synchronization
import Testing

/// When storeyd's own writer stalls (a slow disk, a long checkpoint), readings wait in intake while the
/// clock runs on. The monitor must not take that for quiet: a closed window that was still receiving
/// readings is not judged half-filled, and a point whose readings are waiting is not called silent.
@Suite struct UnderuseMonitorStallTests {
    /// A rig: the monitor on a real store, with the clock and intake's state in the test's hands.
    /// What the test controls: the clock, whether intake holds readings, and what the monitor recorded.
    final class Controls: Sendable {
        let clock: Mutex<Int64>
        let idle = Mutex(true)
        let transitions = Mutex<[String]>([])
        init(now: Int64) { clock = Mutex(now) }
        var now: Int64 { clock.withLock { $0 } }
    }

    /// A rig: the monitor on a real store, with the clock and intake's state in the test's hands.
    struct Rig {
        let store: ReadingStore
        let monitor: UnderuseMonitor
        let controls: Controls

        init(topology: String, rules: String, now: Int64) throws {
            let directory = try makeTemporaryDirectory(prefix: "storey-stall")
            let main = try StoreydProcess.writeConfiguration(in: directory, topology: topology, mqttSection: rules)
            let configuration = try ConfigurationLoader.load(file: main)
            let controls = Controls(now: now)
            self.controls = controls
            store = try ReadingStore(
                path: directory.appendingPathComponent("storey.db").path, topology: configuration.topology,
                now: { controls.now })
            monitor = try UnderuseMonitor(
                configuration: configuration, store: store, logger: Logger(label: "stall-test"),
                now: { controls.now }, caughtUp: { true }, connected: { true }, intakeIdle: { controls.idle.withLock { $0 } })
            monitor.onTransitions { recorded in
                controls.transitions.withLock { $0 += recorded.map { "\($0.transition.scopeID):\($0.transition.from.rawValue)>\($0.transition.to.rawValue)" } }
            }
        }

        func store(_ readings: [Reading]) throws { monitor.stored(try store.ingest(readings)) }
        func tick(at time: Int64) throws {
            controls.clock.withLock { $0 = time }
            try monitor.tick()
        }
        func stall(_ stalled: Bool) { controls.idle.withLock { $0 = !stalled } }
        var recorded: [String] { controls.transitions.withLock { $0 } }
    }

    @Test func aStalledWriterIsNotSilenceNorAQuietWindow() throws {
        let rules = """
            alerting:
              evaluate_every: 1s
              late_readings_grace: 1m
              coverage: 0.01          # 36 of the 3,600 one-second readings an hour
            rules:
              - name: energy-low
                scope: { kind: tenant }
                metric: energy_intensity
                window: hour
                condition: { below: 0.05 }
                applies: always
              - name: silent
                scope: { kind: point }
                condition: { silent_intervals: 5 }
            """
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        // UnderuseTests' tower: the ghost's meter (point 1) reports every second on 400 m² of space.
        let rig = try Rig(topology: UnderuseTests.topology, rules: rules, now: now)
        // An hour of two days ago arrives late. Its first 40 minutes say little was used (0.01 kWh a
        // minute on 400 m²); the rest, still waiting behind a stalled writer, says the space was busy
        // (30 kWh in 20 minutes: 0.075 kWh/m², above the rule's 0.05).
        let hourStart = (now / 3_600_000 - 48) * 3_600_000
        func minute(_ m: Int, value: Double) -> Reading { Reading(point: 1, time: hourStart + Int64(m) * 60_000, value: value) }
        try rig.tick(at: now)
        try rig.store((0..<40).map { minute($0, value: 100 + Double($0) * 0.01) })
        try rig.tick(at: now + 1_000)   // the window changed: it settles one quiet tick later…
        rig.stall(true)
        for second in 2...12 {          // …but the writer stalls with readings waiting, for 11 s
            try rig.tick(at: now + Int64(second) * 1_000)
        }
        #expect(rig.recorded.isEmpty, "judged or called silent during a stall: \(rig.recorded)")

        // The writer catches up: the rest of the hour, at a busy floor's 1.5 kWh a minute.
        try rig.store((40..<60).map { minute($0, value: 100.39 + Double($0 - 39) * 1.5) })
        rig.stall(false)
        try rig.tick(at: now + 13_000)
        try rig.tick(at: now + 14_000)
        #expect(!rig.recorded.contains { $0.hasPrefix("ghost:") }, "a busy hour judged underused: \(rig.recorded)")
        #expect(!rig.recorded.contains { $0.hasPrefix("g-kwh:") }, "a point stored a second ago called silent: \(rig.recorded)")

        // And silence is still seen when it is real: nothing arrives, intake idle, 5 intervals pass.
        try rig.tick(at: now + 25_000)
        #expect(rig.recorded.contains("g-kwh:inactive>firing"), "\(rig.recorded)")
    }
}
