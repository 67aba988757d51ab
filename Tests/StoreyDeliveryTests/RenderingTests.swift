import Foundation
import StoreyCore
import Testing

@testable import StoreyDelivery

@Suite struct RenderingTests {
    let settings = RenderingSettings(externalURL: "https://storey.example.com/", timeZone: TimeZone(identifier: "Asia/Shanghai")!)

    @Test func alertTextReadsInEnglishAndSimplifiedChinese() {
        let firing = Fixtures.notification(time: 1_790_000_000_000)
        let english = AlertText(firing, language: .english, timeZone: settings.timeZone, externalURL: settings.externalURL)
        #expect(english.title == "[FIRING] low-energy on tenant alpha")
        #expect(english.facts.map(\.label) == ["Severity", "Scope", "Building", "Value", "Limit", "Resolves at", "Started", "Rule"])
        #expect(english.facts.first { $0.label == "Value" }?.value == "0.12 kWh/m²")
        #expect(english.facts.first { $0.label == "Started" }?.value == "2026-09-21 22:03 UTC+08:00")
        #expect(english.link == "https://storey.example.com/alerts/\(firing.fingerprint.value)")

        let resolved = Fixtures.notification(kind: "resolved", annotations: ["summary": "鑫达电子能耗偏低", "description": "连续两小时低于基线"])
        let chinese = AlertText(resolved, language: .simplifiedChinese, timeZone: settings.timeZone, externalURL: nil)
        #expect(chinese.title == "【已恢复】鑫达电子能耗偏低")
        #expect(chinese.facts.map(\.label) == ["级别", "对象", "楼栋", "当前值", "阈值", "开始时间", "结束时间", "规则"])
        #expect(chinese.facts[0].value == "警告")
        #expect(chinese.facts[1].value == "租户 alpha")
        #expect(chinese.plainText.contains("连续两小时低于基线"))
    }

    @Test func webhookBodyIsVersionedAndCarriesEachAlert() throws {
        let single = WebhookBody(Fixtures.message([Fixtures.notification()]), language: .english, settings: settings)
        let object = try #require(JSONSerialization.jsonObject(with: single.encoded()) as? [String: Any])
        #expect(object["version"] as? String == "storey.alert.v1")
        #expect(object["type"] as? String == "alert")
        #expect(object["status"] as? String == "firing")
        let alert = try #require((object["alerts"] as? [[String: Any]])?.first)
        #expect(alert["fingerprint"] as? String == Fixtures.notification().fingerprint.value)
        #expect((alert["values"] as? [String: Any])?["unit"] as? String == "kWh/m²")
        #expect(alert["startsAt"] as? String == "2026-09-21T14:03:20.000Z")
        #expect((alert["url"] as? String)?.hasPrefix("https://storey.example.com/alerts/") == true)
        #expect(single.encoded() == single.encoded(), "the same bytes on every attempt")

        let group = WebhookBody(
            Fixtures.message([Fixtures.notification(kind: "resolved"), Fixtures.notification(kind: "resolved", scopeID: "beta")]),
            language: .english, settings: settings)
        #expect(group.type == "group")
        #expect(group.status == "resolved")
        #expect(group.commonLabels == ["alertname": "low-energy", "severity": "warning", "building": "t1"])
    }

    /// The Standard Webhooks reference vector (from the specification's libraries' tests).
    @Test func signatureMatchesTheStandardWebhooksVector() throws {
        let signer = try StandardWebhookSignature(secrets: [Fixtures.secret])
        let signature = signer.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Data(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let rotating = try StandardWebhookSignature(secrets: [Fixtures.secret, Fixtures.secondSecret])
        #expect(rotating.signature(id: "a", timestamp: 1, body: Data()).split(separator: " ").count == 2)
        #expect(throws: DeliveryError.self) { try StandardWebhookSignature(secrets: ["plain-password"]) }
    }

    @Test func groupBotPresetsSignAndShapeTheirMessages() throws {
        let message = Fixtures.message([Fixtures.notification()])
        let dingtalk = try WebhookRenderer(
            receiverName: "ding", webhook: WebhookReceiver(url: "https://oapi.dingtalk.com/robot/send?access_token=abc", preset: .dingtalk),
            language: .simplifiedChinese, settings: settings, secrets: [], signingSecret: "SECabc")
        let request = dingtalk.request(message, now: 1_700_000_000_123)
        let expected = WebhookRenderer.hmacBase64(key: "SECabc", message: "1700000000123\nSECabc")
        #expect(request.url.hasPrefix("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000123&sign="))
        #expect(request.url.removingPercentEncoding?.hasSuffix(expected) == true)
        let body = try #require(JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        #expect(body["msgtype"] as? String == "markdown")
        #expect(((body["markdown"] as? [String: Any])?["title"] as? String)?.hasPrefix("【告警】") == true)

        let slack = try WebhookRenderer(
            receiverName: "slack", webhook: WebhookReceiver(url: "https://hooks.slack.com/services/x", preset: .slack), language: .english,
            settings: settings, secrets: [], signingSecret: nil)
        // Slack's incoming webhook: one `text` in its mrkdwn, bold with single asterisks, the alert named.
        let slackBody = try #require(JSONSerialization.jsonObject(with: slack.request(message, now: 1_700_000_000_123).body) as? [String: String])
        #expect(Array(slackBody.keys) == ["text"])
        #expect(slackBody["text"]?.hasPrefix("*") == true && slackBody["text"]?.contains("**") == false, "\(slackBody)")
        #expect(slackBody["text"]?.contains(Fixtures.notification().rule) == true, "\(slackBody)")
        #expect(slack.judge(status: 200, body: Data("ok".utf8)) == .delivered)
        #expect(slack.judge(status: 200, body: Data("invalid_payload".utf8)).reason == .botError)
        let wecom = try WebhookRenderer(
            receiverName: "wecom", webhook: WebhookReceiver(url: "https://qyapi.weixin.qq.com/x", preset: .wecom), language: .english,
            settings: settings, secrets: [], signingSecret: nil)
        #expect(wecom.judge(status: 200, body: Data(#"{"errcode":45009,"errmsg":"api freq out of limit"}"#.utf8)).reason == .botError)
        #expect(wecom.judge(status: 200, body: Data(#"{"errcode":0,"errmsg":"ok"}"#.utf8)) == .delivered)
    }

    @Test func mailSubjectsAreEncodedWordsAndThreadingHeadersAreSet() {
        #expect(EncodedWord.encode("[FIRING] plain") == "[FIRING] plain")
        let encoded = EncodedWord.encode("【告警】鑫达电子三楼能耗连续两小时低于基线的百分之三十，请核实产线是否停工")
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
        let decoded = words.map { word -> String in
            let base64 = word.dropFirst(10).dropLast(2)
            return String(decoding: Data(base64Encoded: String(base64))!, as: UTF8.self)
        }.joined()
        #expect(decoded == "【告警】鑫达电子三楼能耗连续两小时低于基线的百分之三十，请核实产线是否停工")

        let email = EmailReceiver(host: "127.0.0.1", port: 25, from: "库房 Storey <storey@example.com>", to: ["a@example.com"])
        let mail = MailContent(
            Fixtures.message([Fixtures.notification(kind: "resolved")], recipient: "a@example.com", key: "<storey.f.1.9@example.com>", thread: "<storey.f.1@example.com>"),
            email: email, language: .english, settings: settings, date: Date(timeIntervalSince1970: 0))
        #expect(mail.headers.contains("Message-ID: <storey.f.1.9@example.com>"))
        #expect(mail.headers.contains("In-Reply-To: <storey.f.1@example.com>"))
        #expect(mail.headers.contains("References: <storey.f.1@example.com>"))
        #expect(mail.headers.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
        #expect(mail.headers.contains { $0.hasPrefix("From: =?UTF-8?B?") && $0.hasSuffix(" <storey@example.com>") })
        #expect(mail.html.contains("<th align=\"left\">Severity</th>"))
    }
}
