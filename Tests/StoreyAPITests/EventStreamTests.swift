import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreyAPI
import StoreyCore
import Testing

@Suite struct WindowCloserTests {
    @Test func aMinuteClosesWhenALaterMinutesReadingIsStoredOrTheClockPassesIt() {
        var closer = WindowCloser()
        #expect(closer.advance(newestReading: nil, now: 1000) == [])
        // First look at 10:20:30: the minute before it is reported at once.
        #expect(closer.advance(newestReading: 600_030_000, now: 600_031) == [599_940])
        #expect(closer.advance(newestReading: 600_050_000, now: 600_051) == [])
        // A reading of the next minute closes 10:20.
        #expect(closer.advance(newestReading: 600_061_000, now: 600_061) == [600_000])
        // No more readings: the clock closes 10:21 five seconds after its end.
        #expect(closer.advance(newestReading: 600_061_000, now: 600_124) == [])
        #expect(closer.advance(newestReading: 600_061_000, now: 600_125) == [600_060])
        #expect(closer.advance(newestReading: 600_061_000, now: 600_500) == [])
    }

    @Test func aLongGapReportsOnlyTheNewestMinutes() {
        var closer = WindowCloser()
        _ = closer.advance(newestReading: 0, now: 0)
        let closed = closer.advance(newestReading: 86_400_000, now: 86_400)
        #expect(closed.count == 60)
        #expect(closed.last == 86_340)
    }
}

@Suite struct EventHubTests {
    func event(_ id: Int64) -> StreamEvent { StreamEvent(id: id, name: "window", data: "{\"n\":\(id)}") }

    @Test func aSlowClientIsDroppedWhileOthersKeepReceiving() async {
        let hub = EventHub(clientBuffer: 3, keptEvents: 10)
        let slow = hub.subscribe(lastEventID: nil)
        let fast = hub.subscribe(lastEventID: nil)
        var fastIterator = fast.events.makeAsyncIterator()
        for id in 1...5 {
            hub.publish(event(Int64(id)))
            #expect(await fastIterator.next()?.id == Int64(id))
        }
        #expect(hub.clientCount == 1)
        #expect(hub.droppedClients == 1)
        // The slow client gets what was buffered, then its stream ends.
        var received: [Int64] = []
        for await event in slow.events { received.append(event.id!) }
        #expect(received == [1, 2, 3])
    }

    @Test func resumableEventsGetGrowingIdsFromTheHub() {
        let hub = EventHub()
        let first = hub.publishResumable(name: "window", data: "{}")
        let second = hub.publishResumable(name: "alert", data: "{}")
        #expect(second == first + 1)
        #expect(first > Int64(Date().timeIntervalSince1970 * 1000) - 60_000)  // from the clock: later runs start higher
        #expect(hub.subscribe(lastEventID: first).missed.map(\.name) == ["alert"])
    }

    @Test func aReconnectingClientGetsWhatItMissedOrIsToldOfTheGap() {
        let hub = EventHub(clientBuffer: 16, keptEvents: 3)
        for id in 1...5 { hub.publish(event(Int64(id))) }
        hub.publish(StreamEvent(name: "heartbeat", data: "{}"))  // no id: not kept
        let resumed = hub.subscribe(lastEventID: 3)
        #expect(resumed.missed.map(\.id) == [4, 5])
        #expect(!resumed.gap)
        let late = hub.subscribe(lastEventID: 1)
        #expect(late.missed.map(\.id) == [3, 4, 5])
        #expect(late.gap)  // event 2 is no longer kept
        #expect(hub.subscribe(lastEventID: nil).missed.isEmpty)
    }

    @Test func theHubIsWatchedWhileAClientIsConnectedAndForAWhileAfterItLeaves() async {
        let hub = EventHub()
        #expect(!hub.isWatched())
        var subscription: EventHub.Subscription? = hub.subscribe(lastEventID: nil)
        #expect(hub.isWatched())
        _ = subscription
        subscription = nil
        // The stream's termination handler runs once the last reference to it is gone.
        for _ in 0..<100 where hub.clientCount > 0 { try? await Task.sleep(for: .milliseconds(10)) }
        #expect(hub.clientCount == 0)
        #expect(hub.isWatched(resumeWindow: .seconds(60)))
        #expect(!hub.isWatched(resumeWindow: .zero))
    }

    @Test func closingEndsEveryStreamAndRefusesNewOnes() async {
        let hub = EventHub()
        let first = hub.subscribe(lastEventID: nil)
        hub.close()
        for await _ in first.events {}
        let after = hub.subscribe(lastEventID: nil)
        for await _ in after.events {}
        #expect(hub.clientCount == 0)
    }
}

@Suite struct EventStreamHTTPTests {
    @Test func closedWindowsReachTheStreamWithIdsAndStatusFirst() async throws {
        let fixture = try APIFixture()
        let source = WindowEventSource(view: fixture.view, newestReading: { nil }, logger: .init(label: "test"))
        try await fixture.application().test(.live) { client in
            async let response = client.execute(uri: "/api/v1/events", method: .get, headers: APIFixture.read)
            while fixture.view.events.clientCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
            // 10:20 (Shanghai) closed: s1's 6 kWh; 10:59 closes the hour too.
            try source.publishClosed(minutes: [APIFixture.millis("2026-11-10T10:20:00") / 1000, APIFixture.millis("2026-11-10T10:59:00") / 1000])
            fixture.view.events.close()
            let result = try await response
            #expect(result.status == .ok)
            #expect(result.headers[.contentType] == "text/event-stream")
            let text = result.text
            let blocks = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(blocks.first == "retry: 3000")
            #expect(blocks.dropFirst().first == "event: status\ndata: {\"brokerConnected\":true,\"storeWritable\":true}")
            let windows = blocks.filter { $0.contains("event: window") }
            #expect(windows.count == 2)  // the minute 10:20, and the hour 10:00 (10:59 itself has no rows)
            let minute = try #require(windows.first)
            let ids = windows.map { Int64($0.split(separator: "\n")[0].dropFirst(4))! }
            #expect(ids[1] == ids[0] + 1)
            #expect(minute.hasPrefix("id: \(ids[0])\nevent: window\ndata: "))
            let data = try JSONSerialization.jsonObject(with: Data(minute.components(separatedBy: "data: ")[1].utf8)) as! [String: Any]
            #expect(data["resolution"] as? String == "minute")
            #expect(data["building"] as? String == "tower")
            let scopes = data["scopes"] as! [[String: Any]]
            let s1 = try #require(scopes.first { $0["kind"] as? String == "space" && $0["id"] as? String == "s1" })
            #expect((s1["figures"] as! [String: Any])["energy"] as? Double == 6)
            let hour = windows[1]
            #expect(hour.contains("\"resolution\":\"hour\""))
            #expect(hour.contains("\"windowStart\":\"2026-11-10T02:00:00Z\""))
        }
    }

    @Test func aReconnectWithLastEventIDReplaysWhatWasMissed() async throws {
        let fixture = try APIFixture()
        for id in [10, 11, 12] as [Int64] { fixture.view.events.publish(StreamEvent(id: id, name: "window", data: "{}")) }
        try await fixture.application().test(.live) { client in
            var headers = APIFixture.read
            headers[HTTPField.Name("Last-Event-ID")!] = "10"
            async let response = client.execute(uri: "/api/v1/events", method: .get, headers: headers)
            while fixture.view.events.clientCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
            fixture.view.events.close()
            let text = try await response.text
            #expect(text.contains("id: 11\nevent: window"))
            #expect(text.contains("id: 12\nevent: window"))
            #expect(!text.contains("id: 10\n"))
            #expect(!text.contains("event: gap"))
        }
    }

    @Test func statusChangesArePublishedByTheSource() async throws {
        let fixture = try APIFixture()
        let subscription = fixture.view.events.subscribe(lastEventID: nil)
        let source = WindowEventSource(view: fixture.view, newestReading: { nil }, logger: .init(label: "test"), tick: .milliseconds(10))
        let task = Task { try await source.run() }
        var iterator = subscription.events.makeAsyncIterator()
        #expect(await iterator.next()?.data == "{\"brokerConnected\":true,\"storeWritable\":true}")
        fixture.status.value.withLock { $0.brokerConnected = false }
        #expect(await iterator.next()?.data == "{\"brokerConnected\":false,\"storeWritable\":true}")
        task.cancel()
        _ = try? await task.value
    }
}
