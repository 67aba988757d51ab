import Foundation
import NIOCore
import StoreyAPI
import StoreyCore
import Synchronization
import Testing

@Suite struct WindowPacerTests {
    let start = ContinuousClock.now

    @Test func aMinuteClosingAtItsRealPaceGoesOutAtOnce() {
        var pacer = WindowPacer(spacing: .seconds(1))
        pacer.add([600])
        #expect(pacer.release(at: start) == .init(minutes: [600], overflow: 0))
        // The next minute closes a minute later: out at once too.
        pacer.add([660])
        #expect(pacer.release(at: start + .seconds(60)) == .init(minutes: [660], overflow: 0))
        #expect(pacer.release(at: start + .seconds(61)) == nil)
    }

    @Test func minutesClosingFasterAreHeldAndGoOutTogether() {
        var pacer = WindowPacer(spacing: .seconds(1))
        pacer.add([600])
        #expect(pacer.release(at: start)?.minutes == [600])
        pacer.add([660, 720])
        #expect(pacer.release(at: start + .milliseconds(250)) == nil)
        pacer.add([780])
        #expect(pacer.release(at: start + .milliseconds(750)) == nil)
        #expect(pacer.release(at: start + .seconds(1)) == .init(minutes: [660, 720, 780], overflow: 0))
        #expect(pacer.pending.isEmpty)
    }

    @Test func beyondItsCapacityThePacerKeepsTheNewestAndCountsTheRest() {
        var pacer = WindowPacer(spacing: .seconds(1), capacity: 3)
        pacer.add([0])
        _ = pacer.release(at: start)
        pacer.add([60, 120])
        pacer.add([180, 240, 300])
        #expect(pacer.release(at: start + .seconds(2)) == .init(minutes: [180, 240, 300], overflow: 2))
        pacer.add([360])
        #expect(pacer.release(at: start + .seconds(4)) == .init(minutes: [360], overflow: 0))
    }

    @Test func droppingForgetsWhatIsHeld() {
        var pacer = WindowPacer()
        pacer.add([60, 120])
        pacer.drop()
        #expect(pacer.release(at: start) == nil)
    }
}

/// The window events a client sees when windows close faster than real time, as when a broker backlog
/// is drained: the newest with figures, the others counted, and every one without pacing.
@Suite struct WindowEventPacingTests {
    static func windows(_ events: [StreamEvent]) -> [[String: Any]] {
        events.filter { $0.name == "window" }.map { event in
            let text = String(buffer: event.wire)
            let line = text.split(separator: "\n").first { $0.hasPrefix("data: ") }!.dropFirst(6)
            return try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        }
    }

    @Test func severalClosedMinutesGiveTheNewestWithFiguresAndCountTheRest() async throws {
        let fixture = try APIFixture()
        let source = WindowEventSource(view: fixture.view, newestReading: { nil }, logger: .init(label: "test"))
        let subscription = fixture.view.events.subscribe(lastEventID: nil)
        // 10:10 and 10:20 have s1's readings, 10:25 none; 10:59 closes the hour 10:00.
        let minutes = ["10:10", "10:20", "10:25", "10:59"].map { APIFixture.millis("2026-11-10T\($0):00") / 1000 }
        try source.publishClosed(minutes: minutes, overflow: 5)
        fixture.view.events.close()
        var events: [StreamEvent] = []
        for await event in subscription.events { events.append(event) }
        let windows = Self.windows(events)
        #expect(windows.count == 2)
        #expect(windows.first?["resolution"] as? String == "minute")
        #expect(windows.first?["windowStart"] as? String == "2026-11-10T02:20:00Z")
        #expect(windows.first?["skipped"] as? Int == 6)  // 10:10, and the 5 minutes before these
        #expect(windows.last?["resolution"] as? String == "hour")
        #expect(windows.last?["windowStart"] as? String == "2026-11-10T02:00:00Z")
        #expect(windows.last?["skipped"] == nil)
    }

    /// Runs the source while its newest reading moves from 10:00 to 10:30, a minute at each of its ticks
    /// (10 ms apart), and returns the minute events a client received up to the one for 10:29 (the last
    /// to close). Driven by ticks, not time: on a loaded machine the ticks come late, never skipped.
    func eventsWhileThirtyMinutesCloseAtOnce(pacing: Duration) async throws -> [[String: Any]] {
        let fixture = try APIFixture()
        let ticks = Mutex(0)
        let from = APIFixture.millis("2026-11-10T10:00:00")
        let source = WindowEventSource(
            view: fixture.view,
            newestReading: {
                let tick = ticks.withLock { tick in
                    defer { tick += 1 }
                    return Int64(tick)
                }
                return from + min(tick, 30) * 60_000 + 10_000
            },
            logger: .init(label: "test"), tick: .milliseconds(10), pacing: pacing)
        let subscription = fixture.view.events.subscribe(lastEventID: nil)
        let running = Task { try await source.run() }
        // Should 10:29 never come, the stream ends (and the checks fail) instead of the test hanging.
        let deadline = Task { [events = fixture.view.events] in
            try await Task.sleep(for: .seconds(60))
            events.close()
        }
        defer { running.cancel(); deadline.cancel() }
        var minutes: [[String: Any]] = []
        for await event in subscription.events {
            guard let window = Self.windows([event]).first, window["resolution"] as? String == "minute" else { continue }
            minutes.append(window)
            if window["windowStart"] as? String == "2026-11-10T02:29:00Z" { break }
        }
        return minutes
    }

    @Test func aBurstOfClosingMinutesReachesClientsPacedEndingWithTheNewest() async throws {
        // Without pacing, each minute with figures is its own event: 10:00 (the source's first look), 10:10,
        // 10:20, 10:29.
        let unpaced = try await eventsWhileThirtyMinutesCloseAtOnce(pacing: .zero).map { $0["windowStart"] as? String }
        #expect(unpaced == ["02:00", "02:10", "02:20", "02:29"].map { "2026-11-10T\($0):00Z" })
        // Paced at 5 s (the 30 ticks take a third of a second, or a few on a loaded machine): the source's
        // first look goes out at once, and the minutes closing after it go out together as one event, the
        // newest, counting the others.
        let paced = try await eventsWhileThirtyMinutesCloseAtOnce(pacing: .seconds(5))
        #expect(paced.map { $0["windowStart"] as? String } == ["2026-11-10T02:00:00Z", "2026-11-10T02:29:00Z"])
        #expect(paced.last?["windowStart"] as? String == "2026-11-10T02:29:00Z")
        #expect((paced.last?["skipped"] as? Int ?? 0) >= 9)
    }
}
