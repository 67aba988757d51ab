import Foundation
import StoreyCore
import StoreyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Outbox rows as the alert side writes them, appended to storeyd's own database with the sqlite3 shell.
func appendToOutbox(database: String, scopes: Range<Int>, kind: String = "firing") async throws {
    var sql = ".timeout 10000\nBEGIN;\n"
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    for index in scopes {
        let scope = "space-\(index)"
        let fingerprint = AlertFingerprint(rule: "idle-space", scopeKind: .space, scopeID: scope).value
        let labels = "{\"alertname\":\"idle-space\",\"severity\":\"warning\",\"building\":\"t\",\"space\":\"\(scope)\"}"
        let json = """
            {"kind":"\(kind)","fingerprint":{"value":"\(fingerprint)"},"rule":"idle-space","scopeKind":"space","scopeID":"\(scope)",\
            "episode":1,"time":\(now),"startsAt":\(now),"severity":"warning","isFlapping":false,"labels":\(labels),\
            "annotations":{"summary":"空间 \(scope) 闲置"},"values":{"value":0,"limit":2,"resolveLevel":3,"unit":"persons"}}
            """
        sql += "INSERT INTO outbox(created_at, fingerprint, kind, notification) VALUES (\(now), '\(fingerprint)', '\(kind)', '\(json)');\n"
    }
    sql += "COMMIT;\n"
    let result = try await runCommand(URL(fileURLWithPath: "/usr/bin/sqlite3"), [database], input: Data(sql.utf8), timeout: .seconds(30))
    guard result.status == 0 else { throw TestSupportError("sqlite3 failed: \(result.errorOutput)") }
}

/// storeyd delivering its outbox to real receivers: two webhooks and an SMTP server, across a `kill -9`.
@Suite(.timeLimit(.minutes(5)))
struct DeliveryDaemonTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// What each test starts: a private broker, two webhook receivers (with the test-server behaviours
    /// given, e.g. `["--fail-first", "1"]`), an SMTP server, and storeyd delivering to all three, ready.
    struct Rig {
        let broker: TestBroker
        let hooks: [TestWebhookReceiver]
        let smtp: TestMailServer
        /// The `delivery:` section storeyd was started with.
        let delivery: String
        let daemon: StoreydProcess

        static func start(
            hookBehaviours: [[String]] = [[], []], topology: String = IntegrationTopology.text, rules: String? = nil,
            pollInterval: String = "0.5s"
        ) async throws -> Rig {
            let broker = try await TestBroker()
            let hooks = [
                try await TestWebhookReceiver(secrets: [DeliveryDaemonTests.secret], behaviour: hookBehaviours[0]),
                try await TestWebhookReceiver(secrets: [DeliveryDaemonTests.secret], behaviour: hookBehaviours[1]),
            ]
            let smtp = try await TestMailServer()
            let directory = try makeTemporaryDirectory(prefix: "storeyd-delivery")
            let delivery = try DeliveryDaemonTests.deliverySection(directory: directory, hooks: hooks, smtpPort: smtp.port, pollInterval: pollInterval)
            let daemon = try StoreydProcess(
                topology: topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)",
                mqttSection: rules.map { $0 + "\n" + delivery } ?? delivery, directory: directory)
            try daemon.start()
            try await daemon.waitUntilReady()
            return Rig(broker: broker, hooks: hooks, smtp: smtp, delivery: delivery, daemon: daemon)
        }
    }

    static func deliverySection(directory: URL, hooks: [TestWebhookReceiver], smtpPort: Int, pollInterval: String) throws -> String {
        let secretFile = directory.appendingPathComponent("whsec").path
        try Self.secret.write(toFile: secretFile, atomically: true, encoding: .utf8)
        return """
            delivery:
              poll_interval: \(pollInterval)
              retry: { initial: 0.2s, maximum: 2s }
              receivers:
                - name: hook-0
                  webhook: { url: "\(hooks[0].url)", secret_files: [\(secretFile)], timeout: 3s }
                - name: hook-1
                  language: zh-Hans
                  webhook: { url: "\(hooks[1].url)", secret_files: [\(secretFile)], timeout: 3s }
                - name: mail
                  email: { server: "smtp://127.0.0.1:\(smtpPort)", security: none, from: "storey@example.com", to: [ops@example.com] }
              route:
                receiver: hook-0
                routes:
                  - { receiver: hook-0, continue: true }
                  - { receiver: hook-1, continue: true }
                  - { receiver: mail }
            """
    }

    @Test func killedDuringABurstItResendsOnlyWithTheSameIDsAndLosesNothing() async throws {
        // The first receiver is slow, so the burst is still going when storeyd is killed.
        let rig = try await Rig.start(hookBehaviours: [["--delay-first", "1000000", "--delay", "0.02"], []])
        defer { rig.broker.stop() }
        let (hooks, smtp, daemon) = (rig.hooks, rig.smtp, rig.daemon)

        let count = 300
        try await appendToOutbox(database: daemon.databasePath, scopes: 0..<count)
        try await daemon.waitUntil("a part of the burst delivered", timeout: .seconds(60)) { hooks[0].accepted().count >= 40 }
        daemon.kill9()
        let beforeKill = hooks[0].accepted().count
        #expect(beforeKill < count, "the kill came in the middle of the burst")

        try daemon.start()
        for hook in hooks {
            _ = try await hook.waitForAccepted(count, timeout: .seconds(120))
        }
        _ = try await smtp.waitForMails(count, timeout: .seconds(120))
        try await daemon.waitUntil("the queue empty", timeout: .seconds(30)) {
            try await daemon.metric("storey_delivery_queue_depth") == 0
        }
        // A resend after the kill is a second mail with a Message-ID already seen: count mails only once
        // the queue is empty, or a resend can stand in for a mail still on its way.
        let mails = try smtp.mails()

        for hook in hooks {
            let requests = hook.requests().filter { ($0["status"] as? Int) == 200 }
            #expect(requests.allSatisfy { $0["verified"] as? Bool == true })
            // Every notification arrived; any resend carried an id already seen.
            let ids = Set(requests.compactMap { $0["id"] as? String })
            #expect(ids.count == count, "\(ids.count) distinct webhook-ids for \(count) notifications")
            let scopes = Set(requests.compactMap { ($0["body"] as? [String: Any]).flatMap { ($0["alerts"] as? [[String: Any]])?.first?["scope"] as? [String: Any] }?["id"] as? String })
            #expect(scopes == Set((0..<count).map { "space-\($0)" }))
        }
        let messageIDs = Set(mails.compactMap { $0["message_id"] as? String })
        #expect(messageIDs.count == count, "\(messageIDs.count) distinct Message-IDs for \(count) alerts in \(mails.count) mails")
        #expect(try await daemon.query("SELECT COUNT(*) FROM delivery_message WHERE state = 'delivered'") == "\(3 * count)")
        #expect(try await daemon.metric("storey_delivery_dead_letters") == 0)
        // Outcomes were committed in batches (since the restart), not one transaction per message.
        let commits = try await daemon.metric("storey_delivery_outcome_commits_total")
        let outcomes = try await daemon.metric("storey_delivery_outcomes_committed_total")
        #expect(commits > 0 && commits < outcomes, "\(outcomes) outcomes in \(commits) commits")
        #expect(try await daemon.stop() == 0)
    }

    @Test func aBadDeliveryConfigurationOnReloadKeepsTheOldOne() async throws {
        let rig = try await Rig.start()
        defer { rig.broker.stop() }
        let (hooks, smtp, daemon, section) = (rig.hooks, rig.smtp, rig.daemon, rig.delivery)

        try daemon.writeConfiguration(topology: IntegrationTopology.text, mqttSection: section.replacingOccurrences(of: "receiver: hook-0\n    routes", with: "receiver: nobody\n    routes"))
        daemon.signal(SIGHUP)
        try await daemon.waitUntil("the reload refused") { daemon.log.contains("configuration NOT reloaded") }
        #expect(daemon.log.contains("delivery.route.receiver: no receiver named \"nobody\""))

        try await appendToOutbox(database: daemon.databasePath, scopes: 0..<3)
        _ = try await hooks[1].waitForAccepted(3)
        _ = try await smtp.waitForMails(3)
        let text = ((hooks[1].accepted().first?["body"] as? [String: Any])?["text"] as? String) ?? ""
        #expect(text.hasPrefix("【告警】空间"), "hook-1 speaks Chinese: \(text)")

        // `storey outbox list` and `storey check` see the same database and configuration.
        let storey = StoreydProcess.binary.deletingLastPathComponent().appendingPathComponent("storey")
        let list = try await runCommand(storey, ["outbox", "--config", daemon.configFile, "--database", daemon.databasePath, "list", "--state", "delivered"])
        #expect(list.status == 1, "the configuration on disk is the broken one: \(list.errorOutput)")
        try daemon.writeConfiguration(topology: IntegrationTopology.text, mqttSection: section)
        let listed = try await runCommand(storey, ["outbox", "--config", daemon.configFile, "--database", daemon.databasePath, "list", "--state", "all"])
        #expect(listed.status == 0)
        #expect(listed.output.split(separator: "\n").count >= 1 + 9)
        #expect(listed.errorOutput.contains("dead letters"))
        #expect(try await daemon.stop() == 0)
    }

    @Test func deadLettersAreListedAndReplayed() async throws {
        let rig = try await Rig.start(hookBehaviours: [["--fail-first", "1", "--status", "400"], []])
        defer { rig.broker.stop() }
        let (hooks, daemon) = (rig.hooks, rig.daemon)
        try await appendToOutbox(database: daemon.databasePath, scopes: 0..<1)
        try await daemon.waitUntil("a dead letter") { try await daemon.metric("storey_delivery_dead_letters") == 1 }
        #expect(try await daemon.metric("storey_delivery_failures_total{receiver=\"hook-0\",reason=\"http_4xx\"}") == 1)

        let storey = StoreydProcess.binary.deletingLastPathComponent().appendingPathComponent("storey")
        let list = try await runCommand(storey, ["outbox", "--config", daemon.configFile, "--database", daemon.databasePath, "list", "--state", "dead"])
        #expect(list.status == 0)
        let line = try #require(list.output.split(separator: "\n").dropFirst().first)
        let fields = line.split(separator: "\t").map(String.init)
        #expect(fields[1] == "dead" && fields[2] == "hook-0" && fields[6] == "http_4xx")
        // The summary totals failures by receiver and reason.
        #expect(list.errorOutput.contains("1 dead letters") && list.errorOutput.contains("hook-0: 1 dead after http_4xx"), "\(list.errorOutput)")
        let replay = try await runCommand(storey, ["outbox", "--config", daemon.configFile, "--database", daemon.databasePath, "replay", fields[0]])
        #expect(replay.status == 0)
        _ = try await hooks[0].waitForAccepted(1)
        try await daemon.waitUntil("no dead letters") { try await daemon.metric("storey_delivery_dead_letters") == 0 }
        let again = try await runCommand(storey, ["outbox", "--config", daemon.configFile, "--database", daemon.databasePath, "replay", fields[0]])
        #expect(again.status == 1, "only dead letters are replayed")
        #expect(try await daemon.stop() == 0)
    }

    /// The whole path: readings through the broker → the rule fires → outbox → a signed webhook and a mail,
    /// woken by the monitor's signal rather than the poll.
    @Test func anAlertFiredFromReadingsReachesTheWebhookAndTheMailbox() async throws {
        let rig = try await Rig.start(topology: UnderuseTests.topology, rules: UnderuseTests.rules, pollInterval: "30s")
        defer { rig.broker.stop() }
        let (broker, hooks, smtp, daemon) = (rig.broker, rig.hooks, rig.smtp, rig.daemon)
        let day = UnderuseTests.workingDay
        try await publishReadings(
            UnderuseTests.counter("storey/u/1/quiet-space/q-kwh", day: day, from: 8 * 60, to: 12 * 60, start: 1000, perMinute: 0.01),
            port: broker.port)
        func energyLow() -> [String: Any]? {
            hooks[1].accepted().compactMap { $0["body"] as? [String: Any] }.first {
                (($0["alerts"] as? [[String: Any]])?.first?["rule"] as? String) == "energy-low"
            }
        }
        try await daemon.waitUntil("the energy-low webhook", timeout: .seconds(25)) { energyLow() != nil }
        let body = try #require(energyLow())
        let alert = try #require((body["alerts"] as? [[String: Any]])?.first)
        #expect(alert["kind"] as? String == "firing")
        #expect((alert["labels"] as? [String: String])?["tenant"] == "quiet")
        #expect((body["text"] as? String)?.hasPrefix("【告警】energy per m² far below") == true)
        try await daemon.waitUntil("the energy-low mail", timeout: .seconds(25)) {
            try smtp.mails().contains { $0["subject"] as? String == "[FIRING] energy per m² far below a working floor's" }
        }
        #expect(try await daemon.stop() == 0)
    }
}
