import Foundation
import StoreyTestSupport
import Testing

@testable import StoreyDelivery

/// The webhook sender against real HTTP receivers that verify signatures with the `standardwebhooks` library.
@Suite(.timeLimit(.minutes(2)))
struct WebhookSenderTests {
    let settings = RenderingSettings(externalURL: "http://dashboard.example/")

    func renderer(url: String, preset: WebhookReceiver.Preset = .standard, secrets: [String] = [], signing: String? = nil, timeout: Double = 5) throws -> WebhookRenderer {
        var webhook = WebhookReceiver(url: url, preset: preset)
        webhook.timeout = timeout
        return try WebhookRenderer(receiverName: "hook", webhook: webhook, language: .english, settings: settings, secrets: secrets, signingSecret: signing)
    }

    func send(_ renderer: WebhookRenderer, key: String = "msg_1", sender: WebhookSender) async -> SendOutcome {
        let message = Fixtures.message([Fixtures.notification()], key: key)
        let request = renderer.request(message, now: Int64(Date().timeIntervalSince1970 * 1000))
        return await sender.send(request, timeout: renderer.webhook.timeout, judge: renderer.judge)
    }

    @Test func signedBodyVerifiesWithEitherSecretDuringRotation() async throws {
        // The receiver knows only the new secret; Storey signs with the old and the new.
        let receiver = try await TestWebhookReceiver(secrets: [Fixtures.secondSecret])
        let sender = WebhookSender()
        let outcome = await send(try renderer(url: receiver.url, secrets: [Fixtures.secret, Fixtures.secondSecret]), sender: sender)
        #expect(outcome == .delivered)
        let request = try #require(receiver.requests().first)
        #expect(request["verified"] as? Bool == true)
        #expect(request["id"] as? String == "msg_1")
        #expect((request["signature"] as? String)?.split(separator: " ").count == 2)
        #expect((request["body"] as? [String: Any])?["version"] as? String == "storey.alert.v1")

        // Signed with a secret the receiver does not know: refused, and so told apart from delivered.
        let wrong = await send(try renderer(url: receiver.url, secrets: [Fixtures.secret]), sender: sender)
        #expect(wrong.reason == .http4xx)
        await sender.shutdown()
    }

    @Test func answersAreClassifiedForRetry() async throws {
        let sender = WebhookSender()
        let failing = try await TestWebhookReceiver(behaviour: ["--fail-first", "1", "--status", "500"])
        #expect(await send(try renderer(url: failing.url), sender: sender).reason == .http5xx)
        #expect(await send(try renderer(url: failing.url), sender: sender) == .delivered)

        let limited = try await TestWebhookReceiver(behaviour: ["--fail-first", "1", "--status", "429", "--retry-after", "7"])
        #expect(await send(try renderer(url: limited.url), sender: sender) == .failed(.http429, "HTTP 429 Too Many Requests", retryAfter: 7))

        let gone = try await TestWebhookReceiver(behaviour: ["--fail-first", "1", "--status", "410"])
        guard case .gone = await send(try renderer(url: gone.url), sender: sender) else {
            Issue.record("410 must mean gone")
            return
        }
        // The receiver would answer after 60 s; a 0.5 s timeout must end the wait long before. The bound is
        // loose because a loaded CI machine can take seconds to schedule us (2 s once failed there).
        let slow = try await TestWebhookReceiver(behaviour: ["--delay-first", "1", "--delay", "60"])
        let started = ContinuousClock.now
        #expect(await send(try renderer(url: slow.url, timeout: 0.5), sender: sender).reason == .timeout)
        #expect(ContinuousClock.now - started < .seconds(20))

        let nobody = freePort()
        #expect(await send(try renderer(url: "http://127.0.0.1:\(nobody)/hook"), sender: sender).reason == .connection)

        let redirecting = try await TestWebhookReceiver(behaviour: ["--fail-first", "1", "--status", "307"])
        #expect(await send(try renderer(url: redirecting.url), sender: sender).reason == .http4xx)
        #expect(redirecting.requests().count == 1, "the redirect was not followed")
        await sender.shutdown()
    }

    @Test func groupBotsVerifyTheirOwnSigning() async throws {
        let sender = WebhookSender()
        let ding = try await TestWebhookReceiver(mode: "dingtalk", botSecret: "SEC0123456789")
        #expect(await send(try renderer(url: ding.url + "?access_token=t", preset: .dingtalk, signing: "SEC0123456789"), sender: sender) == .delivered)
        #expect(ding.requests().first?["verified"] as? Bool == true)

        let feishu = try await TestWebhookReceiver(mode: "feishu", botSecret: "feishu-secret")
        #expect(await send(try renderer(url: feishu.url, preset: .feishu, signing: "feishu-secret"), sender: sender) == .delivered)
        #expect(feishu.requests().first?["verified"] as? Bool == true)
        #expect(((feishu.requests().first?["body"] as? [String: Any])?["msg_type"] as? String) == "text")

        let wecom = try await TestWebhookReceiver(mode: "wecom")
        #expect(await send(try renderer(url: wecom.url, preset: .wecom), sender: sender) == .delivered)
        let content = ((wecom.requests().first?["body"] as? [String: Any])?["markdown"] as? [String: Any])?["content"] as? String
        #expect(content?.hasPrefix("**[FIRING]") == true)
        await sender.shutdown()
    }
}
