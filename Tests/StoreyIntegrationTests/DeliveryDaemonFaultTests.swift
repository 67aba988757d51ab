import Foundation
import StoreyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The circuit breaker, mutes and retention, through the real storeyd and real receivers.
@Suite(.timeLimit(.minutes(5)))
struct DeliveryDaemonFaultTests {
    static let secret = DeliveryDaemonTests.secret

    func secretFile(_ directory: URL) throws -> String {
        let path = directory.appendingPathComponent("whsec").path
        try Self.secret.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func startDaemon(_ broker: TestBroker, delivery: String, directory: URL) async throws -> StoreydProcess {
        let daemon = try StoreydProcess(
            topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(broker.port)", mqttSection: delivery, directory: directory)
        try daemon.start()
        try await daemon.waitUntilReady()
        return daemon
    }

    @Test func aFailingEndpointOpensItsCircuitThenOneTrialAtATimeUntilItAnswers() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let failing = try await TestWebhookReceiver(secrets: [Self.secret], behaviour: ["--fail-first", "1000000", "--status", "500"])
        let directory = try makeTemporaryDirectory(prefix: "storeyd-circuit")
        // Retries every 0.1–0.2 s would hammer the endpoint; the breaker opens after 3 failures and then
        // lets one trial through every 2 s.
        let daemon = try await startDaemon(broker, delivery: """
            delivery:
              poll_interval: 0.2s
              retry: { initial: 0.1s, maximum: 0.2s }
              circuit_breaker: { failures: 3, open_for: 2s, maximum_open: 2s }
              receivers:
                - name: hook-0
                  webhook: { url: "\(failing.url)", secret_files: [\(try secretFile(directory))], timeout: 2s }
              route:
                receiver: hook-0
            """, directory: directory)
        let count = 10
        try await appendToOutbox(database: daemon.databasePath, scopes: 0..<count)
        try await daemon.waitUntil("the circuit open") { try await daemon.metric("storey_delivery_circuit_open{receiver=\"hook-0\"}") == 1 }
        try await Task.sleep(for: .seconds(5.5))
        // The count first: a trial may start between the two reads, never be counted before it is made.
        let failures = try await daemon.metric("storey_delivery_failures_total{receiver=\"hook-0\",reason=\"http_5xx\"}")
        let requests = failing.requests()
        // Judged by when the receiver saw each request, not by when this test saw the circuit open (on a
        // loaded machine that may be seconds later). A first round until 3 have failed (at most 3 more
        // already under way, the receiver's 4 at once); then, open, one trial per open_for and nothing
        // between. Without the breaker: some 250 requests in these seconds.
        let times = requests.compactMap { $0["at"] as? Double }.sorted()
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        let firstRound = (gaps.firstIndex { $0 >= 1.5 } ?? gaps.count) + 1
        let trialGaps = Array(gaps.dropFirst(firstRound - 1))
        print("circuit: \(firstRound) requests in the first round, then gaps \(trialGaps.map { (($0 * 10).rounded() / 10) })")
        #expect(firstRound >= 3 && firstRound <= 3 + 3 + 3, "\(firstRound) requests before the circuit opened; gaps \(gaps)")
        #expect(trialGaps.count >= 2, "no request for the open time, twice: gaps \(gaps)")
        #expect(trialGaps.allSatisfy { $0 >= 1.5 }, "only one trial per open time once open: gaps \(gaps)")
        #expect(try await daemon.metric("storey_delivery_dead_letters") == 0, "a held message spends no attempts")
        #expect((0...1).contains(requests.count - Int(failures)), "\(requests.count) requests, \(Int(failures)) failures counted")
        // What an operator sees of it: every attempt counted, the oldest notification waiting over 5 s, and
        // `storey outbox` saying the same.
        // (Every failure, whatever its reason: on a loaded machine a request may time out instead of 500.)
        let metrics = try await daemon.metrics()
        let attempts = metrics["storey_delivery_attempts_total{receiver=\"hook-0\"}", default: 0]
        let allFailures = metrics.filter { $0.key.hasPrefix("storey_delivery_failures_total{receiver=\"hook-0\"") }.values.reduce(0, +)
        #expect(attempts >= allFailures && attempts <= allFailures + 1, "\(attempts) attempts, \(allFailures) failures")
        let oldest = try await daemon.metric("storey_delivery_oldest_undelivered_seconds")
        #expect(oldest >= 5 && oldest < 120, "oldest undelivered \(oldest) s")
        let storey = StoreydProcess.binary.deletingLastPathComponent().appendingPathComponent("storey")
        let list = try await runCommand(storey, ["outbox", "--config", daemon.configFile, "--database", daemon.databasePath, "list", "--state", "pending"])
        #expect(list.status == 0, "\(list.errorOutput)")
        #expect(list.output.split(separator: "\n").count == 1 + count, "a line per pending message: \(list.output)")
        #expect(list.errorOutput.contains("\(count) messages pending, 0 dead letters; oldest undelivered: "), "\(list.errorOutput)")
        #expect(!list.errorOutput.contains("oldest undelivered: -"), "\(list.errorOutput)")
        #expect(list.errorOutput.contains("hook-0: ") && list.errorOutput.contains(" pending after http_5xx"), "\(list.errorOutput)")

        // The endpoint comes back on the same port: the next trial closes the circuit and everything goes,
        // each message with the webhook-id it was first tried with.
        failing.stop()
        let back = try await TestWebhookReceiver(secrets: [Self.secret], port: failing.port)
        let accepted = try await back.waitForAccepted(count, timeout: .seconds(20))
        let acceptedIDs = Set(accepted.compactMap { $0["id"] as? String })
        #expect(acceptedIDs.count == count)
        #expect(Set(requests.compactMap { $0["id"] as? String }).isSubset(of: acceptedIDs), "retries carry the id of the first attempt")
        try await daemon.waitUntil("the circuit closed") { try await daemon.metric("storey_delivery_circuit_open{receiver=\"hook-0\"}") == 0 }
        try await daemon.waitUntil("the queue empty") { try await daemon.metric("storey_delivery_queue_depth") == 0 }
        try await daemon.waitUntil("nothing undelivered") { try await daemon.metric("storey_delivery_oldest_undelivered_seconds") == 0 }
        #expect(back.requests().count == count, "no duplicates once it answers")
        #expect(try await daemon.stop() == 0)
    }

    @Test func aMutedRouteHoldsItsAlertsAndTellsTheStillFiringOnesWhenTheMuteEnds() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let hooks = [try await TestWebhookReceiver(secrets: [Self.secret]), try await TestWebhookReceiver(secrets: [Self.secret])]
        let directory = try makeTemporaryDirectory(prefix: "storeyd-mute")
        // A mute over the current minute of the day (UTC), and the next one when this minute is nearly over.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let now = Date()
        let parts = utc.dateComponents([.hour, .minute, .second], from: now)
        let start = parts.hour! * 60 + parts.minute!
        let end = (start + (parts.second! < 45 ? 1 : 2)) % 1440
        let muteEnds = utc.date(bySettingHour: 0, minute: 0, second: 0, of: now)!.addingTimeInterval(Double(end < start ? 1440 + end : end) * 60)
        func clock(_ minute: Int) -> String { String(format: "%02d:%02d", minute / 60, minute % 60) }
        let secret = try secretFile(directory)
        let daemon = try await startDaemon(broker, delivery: """
            delivery:
              poll_interval: 0.5s
              receivers:
                - name: hook-0
                  webhook: { url: "\(hooks[0].url)", secret_files: [\(secret)] }
                - name: unmuted
                  webhook: { url: "\(hooks[1].url)", secret_files: [\(secret)] }
              time_intervals:
                - name: this-minute
                  time_zone: UTC
                  intervals:
                    - { times: ["\(clock(start))-\(clock(end))"] }
              route:
                receiver: hook-0
                routes:
                  - { receiver: unmuted, continue: true }
                  - { matchers: ['alertname="idle-space"'], receiver: hook-0, mute_time_intervals: [this-minute] }
            """, directory: directory)

        // space-0 and space-1 fire and stay firing; space-2 fires and resolves, all while muted.
        try await appendToOutbox(database: daemon.databasePath, scopes: 0..<3)
        try await appendToOutbox(database: daemon.databasePath, scopes: 2..<3, kind: "resolved")
        _ = try await hooks[1].waitForAccepted(4)
        try await daemon.waitUntil("the muted items held") {
            try await daemon.query("SELECT COUNT(*) FROM delivery_item WHERE receiver = 'hook-0' AND held = 1 AND message IS NULL") == "4"
        }
        #expect(hooks[0].requests().isEmpty, "nothing reaches the muted route")
        #expect(Date() < muteEnds, "the mute was still on when checked")
        // Held notifications are still to deliver.
        try await daemon.waitUntil("the held ones in the queue depth") { try await daemon.metric("storey_delivery_queue_depth") == 4 }

        // The mute ends: the two still-firing alerts go at once; space-2, which came and went unseen, does not.
        let told = try await hooks[0].waitForAccepted(2, timeout: .seconds(max(1, muteEnds.timeIntervalSinceNow) + 10))
        let arrived = Date()
        #expect(arrived.timeIntervalSince(muteEnds) < 5, "sent at once when the mute ended (\(arrived.timeIntervalSince(muteEnds)) s)")
        let scopes = told.compactMap { ($0["body"] as? [String: Any]).flatMap { ($0["alerts"] as? [[String: Any]])?.first?["scope"] as? [String: Any] }?["id"] as? String }
        #expect(Set(scopes) == ["space-0", "space-1"])
        try await daemon.waitUntil("the queue empty") { try await daemon.metric("storey_delivery_queue_depth") == 0 }
        #expect(hooks[0].requests().count == 2)
        let skipped = try await daemon.query("SELECT skipped FROM delivery_item WHERE receiver = 'hook-0' AND skipped IS NOT NULL ORDER BY outbox_id")
        #expect(skipped == "superseded while muted\nresolved while muted, never notified", "\(skipped)")
        #expect(try await daemon.stop() == 0)
    }

    @Test func deliveredHistoryIsPrunedPastItsRetentionAndUndeliveredStays() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let hook = try await TestWebhookReceiver(secrets: [Self.secret])
        let down = try await TestWebhookReceiver(secrets: [Self.secret])
        down.stop()
        let directory = try makeTemporaryDirectory(prefix: "storeyd-retention")
        let secret = try secretFile(directory)
        let daemon = try await startDaemon(broker, delivery: """
            delivery:
              poll_interval: 0.2s
              retry: { initial: 30s, maximum: 30s }
              retention: { delivered: 2s, dead: 1h, prune_every: 1s }
              receivers:
                - name: hook-0
                  webhook: { url: "\(hook.url)", secret_files: [\(secret)] }
                - name: down
                  webhook: { url: "\(down.url)", secret_files: [\(secret)], timeout: 1s }
              route:
                receiver: hook-0
                routes:
                  - { matchers: ['space="space-9"'], receiver: down }
            """, directory: directory)
        // space-0..3 fire and resolve (episodes over); space-4 fires and stays firing; space-9's
        // endpoint is down, so its message stays pending.
        try await appendToOutbox(database: daemon.databasePath, scopes: 0..<5)
        try await appendToOutbox(database: daemon.databasePath, scopes: 0..<4, kind: "resolved")
        try await appendToOutbox(database: daemon.databasePath, scopes: 9..<10)
        _ = try await hook.waitForAccepted(9)
        try await daemon.waitUntil("the finished episodes pruned", timeout: .seconds(20)) {
            try await daemon.query("SELECT COUNT(*) FROM outbox") == "2"
        }
        #expect(try await daemon.query("SELECT COUNT(*) FROM outbox WHERE notification LIKE '%\"space-4\"%' OR notification LIKE '%\"space-9\"%'") == "2",
            "the still-firing alert's notification and the undelivered one stay")
        #expect(try await daemon.query("SELECT state FROM delivery_message ORDER BY id") == "delivered\npending", "space-4's message and space-9's pending one")
        try await daemon.waitUntil("the pruning counted") {
            let metrics = try await daemon.metrics()
            return metrics["storey_delivery_pruned_total{table=\"delivery_message\"}"] == 8 && metrics["storey_delivery_pruned_total{table=\"outbox\"}"] == 8
        }
        try await daemon.waitUntil("the queue depth at the one undelivered") { try await daemon.metric("storey_delivery_queue_depth") == 1 }
        #expect(try await daemon.stop() == 0)
    }
}
