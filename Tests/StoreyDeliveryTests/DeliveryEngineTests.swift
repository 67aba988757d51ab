import Foundation
import StoreyStore
import StoreyTestSupport
import Testing

@testable import StoreyDelivery

/// The whole delivery path in process: outbox rows in a real database (SQLite, and PostgreSQL as several
/// instances share it) → real HTTP receivers and a real SMTP server.
@Suite(.timeLimit(.minutes(3)))
struct DeliveryEngineTests {
    func webhook(_ name: String, _ url: String, secrets: [String] = [Fixtures.secret], timeout: Double = 2) throws -> Receiver {
        var webhook = WebhookReceiver(url: url)
        webhook.timeout = timeout
        let directory = try makeTemporaryDirectory(prefix: "storey-secret")
        webhook.secrets = try secrets.enumerated().map { index, secret in
            let path = directory.appendingPathComponent("whsec-\(index)").path
            try secret.write(toFile: path, atomically: true, encoding: .utf8)
            return .file(path)
        }
        return Receiver(name: name, kind: .webhook(webhook))
    }

    func mail(_ name: String, port: Int, to: [String]) -> Receiver {
        var email = EmailReceiver(host: "127.0.0.1", port: port, from: "storey@example.com", to: to)
        email.security = .none
        return Receiver(name: name, kind: .email(email))
    }

    @Test(arguments: StoreBackend.allCases)
    func eachReceiverAndRecipientIsDeliveredIndependently(_ backend: StoreBackend) async throws {
        let hook = try await TestWebhookReceiver(secrets: [Fixtures.secret])
        let broken = try await TestWebhookReceiver(behaviour: ["--fail-first", "1000000", "--status", "503"])
        let smtp = try await TestMailServer(refuse: ["gone@example.com"])
        var everyone = Route(receiver: "mail")
        everyone.routes = [Route(receiver: "hook"), Route(receiver: "broken"), Route(receiver: "mail")]
        everyone.routes[0].continue = true
        everyone.routes[1].continue = true
        let harness = try await EngineHarness(.testing(
            receivers: [try webhook("hook", hook.url), try webhook("broken", broken.url), mail("mail", port: smtp.port, to: ["a@example.com", "gone@example.com", "c@example.com"])],
            route: everyone), backend: backend)
        harness.start()
        let ids = try await harness.insert([
            Fixtures.notificationJSON(kind: "firing", scopeID: "alpha"), Fixtures.notificationJSON(kind: "firing", scopeID: "beta"),
            Fixtures.notificationJSON(kind: "resolved", scopeID: "alpha"),
        ])
        let mails = try await smtp.waitForMails(6)
        #expect(Set(mails.flatMap { $0["rcpt_tos"] as? [String] ?? [] }) == ["a@example.com", "c@example.com"])
        // The resolution of alpha answers alpha's first mail.
        let alphaMails = mails.filter { ($0["rcpt_tos"] as? [String]) == ["a@example.com"] && ($0["subject"] as? String)?.contains("alpha") == true }
        #expect(alphaMails.count == 2)
        #expect(alphaMails.last?["in_reply_to"] as? String == alphaMails.first?["message_id"] as? String)

        try await harness.waitUntil("the refused recipient's three dead letters") { try await harness.store.statistics().dead == 3 }
        let dead = try await harness.store.messages(state: .dead, limit: 10)
        #expect(dead.allSatisfy { $0.channel.recipient == "gone@example.com" && $0.lastReason == "smtp_refused" })
        // The good webhook got everything while the broken endpoint is still being retried (its outcomes are
        // committed a moment after the requests: waited for, not sampled).
        let accepted = try await hook.waitForAccepted(3)
        try await harness.waitUntil("only the broken endpoint's messages pending") {
            let pending = try await harness.store.messages(state: .pending, limit: 10)
            return pending.count == 3 && pending.allSatisfy { $0.channel.receiver == "broken" }
        }
        let arrived = accepted.compactMap { ($0["body"] as? [String: Any]).flatMap { ($0["alerts"] as? [[String: Any]])?.first?["outboxId"] as? Int } }
        #expect(Set(arrived) == Set(ids.map(Int.init)))
        // Alerts go side by side; one alert's notices in order (alpha fired before it resolved).
        #expect(arrived.firstIndex(of: Int(ids[0]))! < arrived.firstIndex(of: Int(ids[2]))!)
        #expect(accepted.allSatisfy { $0["verified"] as? Bool == true })
        await harness.stop()
    }

    /// One recipient's full mailbox (452, try later) is retried on its own: it neither opens the circuit
    /// the receiver's other recipients share nor holds their mails back.
    @Test(arguments: StoreBackend.allCases)
    func aFullMailboxIsRetriedAloneAndHoldsNoOtherRecipientBack(_ backend: StoreBackend) async throws {
        let smtp = try await TestMailServer(deferring: ["full@example.com"])
        var configuration = DeliveryConfiguration.testing(
            receivers: [mail("mail", port: smtp.port, to: ["full@example.com", "a@example.com"])], route: Route(receiver: "mail"))
        // Two endpoint failures would open the circuit for five minutes, far beyond this test.
        configuration.circuitBreaker.failureThreshold = 2
        configuration.circuitBreaker.initialOpen = 300
        configuration.circuitBreaker.maximumOpen = 300
        let harness = try await EngineHarness(configuration, backend: backend)
        harness.start()
        _ = try await harness.insert([Fixtures.notificationJSON(kind: "firing", scopeID: "alpha")])
        // Two failures: enough to open the circuit, were they counted against it. (Generous waits: on the
        // loaded CI machine a retry due in 0.2 s came 6 s later.)
        try await harness.waitUntil("the full mailbox answered 452 twice", timeout: .seconds(90)) {
            try await harness.store.messages(state: .pending, limit: 10).contains { $0.attempts >= 2 }
        }
        // Later notifications still reach the other recipient at once.
        _ = try await harness.insert([
            Fixtures.notificationJSON(kind: "firing", scopeID: "beta"), Fixtures.notificationJSON(kind: "resolved", scopeID: "alpha"),
        ])
        let mails = try await smtp.waitForMails(3, timeout: .seconds(60))
        #expect(mails.allSatisfy { ($0["rcpt_tos"] as? [String]) == ["a@example.com"] })
        // (Outcomes are committed a moment after the mails: waited for, not sampled.)
        try await harness.waitUntil("only the full mailbox's messages pending, retried as temporary failures") {
            let pending = try await harness.store.messages(state: .pending, limit: 10)
            // (alpha's resolution waits behind alpha's firing: one alert's notices go in order.)
            return pending.count == 3 && pending.allSatisfy { $0.channel.recipient == "full@example.com" }
                && pending.filter { $0.lastReason == "smtp_transient" }.count == 2
        }
        await harness.stop()
    }

    @Test(arguments: StoreBackend.allCases)
    func aReceiverDownThenBackGetsEverythingInOrderPerAlert(_ backend: StoreBackend) async throws {
        let hook = try await TestWebhookReceiver(secrets: [Fixtures.secret])
        hook.stop()
        let harness = try await EngineHarness(.testing(receivers: [try webhook("hook", hook.url)], route: Route(receiver: "hook")), backend: backend)
        harness.start()
        var rows: [String] = []
        for round in 0..<5 {
            for scope in ["a", "b", "c", "d"] {
                rows.append(Fixtures.notificationJSON(kind: round % 2 == 0 ? "firing" : "resolved", scopeID: scope, episode: round / 2 + 1))
            }
        }
        let ids = try await harness.insert(rows)
        // All made into messages and tried against the closed port (async-http-client keeps trying to
        // connect until the request's timeout, so an attempt fails as a timeout or a refused connection).
        try await harness.waitUntil("20 messages pending") { try await harness.store.statistics().pending == 20 }
        try await harness.waitUntil("failed attempts") {
            try await harness.store.messages(state: .pending, limit: 20).contains { $0.attempts >= 1 }
        }
        let pending = try await harness.store.messages(state: .pending, limit: 20)
        #expect(pending.allSatisfy { $0.lastReason == nil || $0.lastReason == "connection" || $0.lastReason == "timeout" })
        try await hook.start()
        let accepted = try await hook.waitForAccepted(20)
        #expect(accepted.count == 20)
        #expect(accepted.allSatisfy { $0["verified"] as? Bool == true })
        // Per alert, the outbox order.
        var byAlert: [String: [Int]] = [:]
        for request in accepted {
            let alert = try #require(((request["body"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first)
            byAlert[alert["fingerprint"] as! String, default: []].append(alert["outboxId"] as! Int)
        }
        #expect(byAlert.count == 4)
        #expect(byAlert.values.allSatisfy { $0 == $0.sorted() && $0.count == 5 })
        #expect(Set(accepted.compactMap { ($0["body"] as? [String: Any]).flatMap { ($0["alerts"] as? [[String: Any]])?.first?["outboxId"] as? Int } }) == Set(ids.map(Int.init)))
        try await harness.waitUntil("all delivered") { try await harness.store.statistics().pending == 0 }
        await harness.stop()
    }

    @Test(arguments: StoreBackend.allCases)
    func retryAfterIsWaitedForAndTheSameWebhookIDIsResent(_ backend: StoreBackend) async throws {
        let hook = try await TestWebhookReceiver(secrets: [Fixtures.secret], behaviour: ["--fail-first", "1", "--status", "429", "--retry-after", "2"])
        let harness = try await EngineHarness(.testing(receivers: [try webhook("hook", hook.url)], route: Route(receiver: "hook")), backend: backend)
        harness.start()
        try await harness.insert([Fixtures.notificationJSON()])
        _ = try await hook.waitForAccepted(1)
        let requests = hook.requests()
        #expect(requests.count == 2)
        #expect(requests[0]["id"] as? String == requests[1]["id"] as? String)
        let gap = (requests[1]["at"] as! Double) - (requests[0]["at"] as! Double)
        #expect(gap >= 1.9, "waited \(gap)s for Retry-After: 2")
        await harness.stop()
    }

    @Test(arguments: StoreBackend.allCases)
    func goneDisablesTheReceiverUntilReplayed(_ backend: StoreBackend) async throws {
        let hook = try await TestWebhookReceiver(secrets: [Fixtures.secret], behaviour: ["--fail-first", "1", "--status", "410"])
        let harness = try await EngineHarness(.testing(receivers: [try webhook("hook", hook.url)], route: Route(receiver: "hook")), backend: backend)
        harness.start()
        try await harness.insert([Fixtures.notificationJSON(scopeID: "a")])
        try await harness.waitUntil("the 410 dead letter") { try await harness.store.statistics().dead == 1 }
        try await harness.insert([Fixtures.notificationJSON(scopeID: "b")])
        try await harness.waitUntil("the disabled receiver's dead letter") { try await harness.store.statistics().dead == 2 }
        #expect(hook.requests().count == 1, "a disabled receiver is not called")
        let dead = try await harness.store.messages(state: .dead, limit: 10)
        #expect(dead.map(\.lastReason) == ["gone", "receiver_disabled"])
        for record in dead { #expect(try await harness.store.replay(record.id, now: Int64(Date().timeIntervalSince1970 * 1000))) }
        harness.engine.outboxChanged()
        _ = try await hook.waitForAccepted(2)
        #expect(Set(hook.accepted().compactMap { $0["id"] as? String }) == Set(dead.map(\.messageKey)))
        await harness.stop()
    }

    @Test(arguments: StoreBackend.allCases)
    func aGroupGoesOutAsOneDigestMailAfterItsWait(_ backend: StoreBackend) async throws {
        let smtp = try await TestMailServer()
        var route = Route(receiver: "mail")
        route.groupBy = ["building"]
        route.groupWait = 1
        route.groupInterval = 60
        let harness = try await EngineHarness(.testing(receivers: [mail("mail", port: smtp.port, to: ["ops@example.com"])], route: route), backend: backend)
        harness.start()
        try await harness.insert(["a", "b", "c"].map { Fixtures.notificationJSON(scopeID: $0) })
        let mails = try await smtp.waitForMails(1)
        try await Task.sleep(for: .seconds(1))
        #expect(try smtp.mails().count == 1)
        #expect((mails[0]["subject"] as? String)?.hasPrefix("[Storey] Building t1: 3 alert changes") == true)
        #expect((mails[0]["message_id"] as? String)?.hasPrefix("<storey.digest.") == true)
        await harness.stop()
    }

    @Test(arguments: StoreBackend.allCases)
    func aTooSlowReceiverIsRetriedWithTheSameIDAndCountsTheDuplicate(_ backend: StoreBackend) async throws {
        // The first answer comes after 3 s; Storey gives up on it after 1 s and sends again.
        let hook = try await TestWebhookReceiver(secrets: [Fixtures.secret], behaviour: ["--delay-first", "1", "--delay", "3"])
        let receiver = try webhook("hook", hook.url, timeout: 1)
        let harness = try await EngineHarness(.testing(receivers: [receiver], route: Route(receiver: "hook")), backend: backend)
        harness.start()
        try await harness.insert([Fixtures.notificationJSON()])
        try await harness.waitUntil("both requests answered") { hook.requests().count == 2 }
        let requests = hook.requests()
        #expect(Set(requests.compactMap { $0["id"] as? String }).count == 1, "the resend carries the same webhook-id")
        #expect(requests.filter { $0["duplicate"] as? Bool == true }.count == 1, "the receiver drops it as a duplicate")
        #expect(hook.accepted().count == 1)
        // The receiver logs a request as it answers; the outcome is committed once storeyd has the answer.
        try await harness.waitUntil("the message recorded as delivered") {
            (try? await harness.store.messages(state: .delivered, limit: 1).first) != nil
        }
        let delivered = try #require(try await harness.store.messages(state: .delivered, limit: 1).first)
        #expect(delivered.attempts == 2)
        await harness.stop()
    }

    /// While an alert's next notice waits behind one being sent, the engine has nothing to do until that
    /// send ends: it must not keep asking the database (until 2026-11-29 it did, 200 times a second).
    @Test(arguments: StoreBackend.allCases)
    func aNoticeWaitingBehindASlowSendKeepsTheEngineQuiet(_ backend: StoreBackend) async throws {
        let hook = try await TestWebhookReceiver(secrets: [Fixtures.secret], behaviour: ["--delay-first", "1", "--delay", "4"])
        let receiver = try webhook("hook", hook.url, timeout: 10)
        var counting: CountingStorage?
        let harness = try await EngineHarness(.testing(receivers: [receiver], route: Route(receiver: "hook")), backend: backend) {
            let wrapper = CountingStorage($0)
            counting = wrapper
            return wrapper
        }
        let calls = try #require(counting)
        harness.start()
        try await harness.insert([Fixtures.notificationJSON(kind: "firing")])
        try await harness.waitUntil("the firing notice's message made") { try await harness.store.statistics().pending == 1 }
        try await harness.insert([Fixtures.notificationJSON(kind: "resolved")])
        try await harness.waitUntil("the resolved notice's message made behind it") { try await harness.store.statistics().pending == 2 }

        let before = calls.calls
        try await Task.sleep(for: .seconds(2))
        let during = calls.calls - before
        // A poll every 0.2 s (the tests' poll interval) makes a few calls each: about 40 in 2 s.
        #expect(during < 100, "\(during) calls to the store in 2 s while nothing could be sent")
        #expect(hook.requests().isEmpty, "the first answer was still being waited for")

        try await harness.waitUntil("both notices delivered, in order") { hook.accepted().count == 2 }
        let kinds = hook.accepted().compactMap { (($0["body"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first?["kind"] as? String }
        #expect(kinds == ["firing", "resolved"])
        await harness.stop()
    }

    @Test func theSMTPPasswordComesFromASystemdCredential() async throws {
        let server = try await TestMailServer(user: "storey", password: "from-credential")
        let credentials = try makeTemporaryDirectory(prefix: "storey-credentials")
        try "from-credential\n".write(toFile: credentials.appendingPathComponent("smtp-password").path, atomically: true, encoding: .utf8)
        var email = EmailReceiver(host: "127.0.0.1", port: server.port, from: "storey@example.com", to: ["ops@example.com"])
        email.security = .none
        email.username = "storey"
        email.password = .credential("smtp-password")
        let configuration = DeliveryConfiguration.testing(receivers: [Receiver(name: "mail", kind: .email(email))], route: Route(receiver: "mail"))
        #expect(throws: DeliveryError.self) { try ReceiverSenders(configuration, environment: [:]) }
        let senders = try ReceiverSenders(configuration, environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        let message = Fixtures.message([Fixtures.notification()], receiver: "mail", recipient: "ops@example.com", key: "<k@example.com>")
        let content = MailContent(message, email: email, language: .english, settings: senders.settings, date: Date())
        #expect(await senders.mailers["mail"]?.send(content) == .delivered)
        #expect(try await server.waitForMails(1).first?["auth"] as? Bool == true)
    }
}
