import Foundation
import StoreyTestSupport
import Testing

@testable import StoreyDelivery

/// libcurl's SMTP against a real aiosmtpd; Python's email parser reads what arrived.
@Suite(.timeLimit(.minutes(2)))
struct SMTPSenderTests {
    let settings = RenderingSettings(externalURL: "http://dashboard.example/", timeZone: TimeZone(identifier: "Asia/Shanghai")!)

    func mail(_ email: EmailReceiver, to: String, language: Language = .simplifiedChinese, kind: String = "firing", thread: String? = nil) -> MailContent {
        let message = Fixtures.message(
            [Fixtures.notification(kind: kind, annotations: ["summary": "鑫达电子能耗偏低"])], receiver: "mail", recipient: to,
            key: "<storey.f.1\(thread == nil ? "" : ".2")@example.com>", thread: thread)
        return MailContent(message, email: email, language: language, settings: settings, date: Date())
    }

    @Test func startTLSWithAuthPlainDeliversAChineseMultipartMail() async throws {
        let certificates = try await TestCertificates.generate()
        let server = try await TestMailServer(security: .starttls, certificates: certificates, user: "storey", password: "s3cret")
        var email = EmailReceiver(host: "127.0.0.1", port: server.port, from: "Storey 告警 <storey@example.com>", to: ["ops@example.com"])
        email.security = .starttls
        email.caFile = certificates.caFile
        email.username = "storey"
        email.authentication = .plain
        let sender = SMTPSender(email: email, password: "s3cret")
        #expect(await sender.send(mail(email, to: "ops@example.com")) == .delivered)

        let received = try #require(try await server.waitForMails(1).first)
        #expect(received["tls"] as? Bool == true)
        #expect(received["mechanism"] as? String == "PLAIN")
        #expect(received["rcpt_tos"] as? [String] == ["ops@example.com"])
        #expect(received["subject"] as? String == "【告警】鑫达电子能耗偏低")
        #expect((received["raw_subject"] as? String)?.hasPrefix("Subject: =?UTF-8?B?") == true)
        #expect(received["message_id"] as? String == "<storey.f.1@example.com>")
        #expect(received["from"] as? String == "Storey 告警 <storey@example.com>")
        let mime = try #require(received["mime"] as? [String: Any])
        #expect(mime["type"] as? String == "multipart/alternative")
        let parts = try #require(mime["parts"] as? [[String: Any]])
        #expect(parts.map { $0["type"] as? String } == ["text/plain", "text/html"])
        #expect(parts.allSatisfy { $0["charset"] as? String == "utf-8" })
        #expect((parts[0]["text"] as? String)?.contains("当前值: 0.12 kWh/m²") == true)
        #expect((parts[1]["text"] as? String)?.contains("<th align=\"left\">级别</th><td>警告</td>") == true)
    }

    @Test func implicitTLSWithAuthLoginThreadsTheResolution() async throws {
        let certificates = try await TestCertificates.generate()
        let server = try await TestMailServer(security: .implicit, certificates: certificates, user: "storey", password: "pw")
        var email = EmailReceiver(host: "127.0.0.1", port: server.port, from: "storey@example.com", to: ["ops@example.com"])
        email.security = .implicit
        email.caFile = certificates.caFile
        email.username = "storey"
        email.authentication = .login
        let sender = SMTPSender(email: email, password: "pw")
        #expect(await sender.send(mail(email, to: "ops@example.com", language: .english, kind: "resolved", thread: "<storey.f.1@example.com>")) == .delivered)
        let received = try #require(try await server.waitForMails(1).first)
        #expect(received["mechanism"] as? String == "LOGIN")
        #expect(received["in_reply_to"] as? String == "<storey.f.1@example.com>")
        #expect(received["references"] as? String == "<storey.f.1@example.com>")
        #expect(received["subject"] as? String == "[RESOLVED] 鑫达电子能耗偏低")

        let wrong = SMTPSender(email: email, password: "not-it")
        #expect(await wrong.send(mail(email, to: "ops@example.com")).reason == .authentication)
    }

    @Test func aRefusedRecipientIsPermanentAndTheOthersStillGetTheirMail() async throws {
        let server = try await TestMailServer(refuse: ["gone@example.com"])
        var email = EmailReceiver(host: "127.0.0.1", port: server.port, from: "storey@example.com", to: ["a@example.com", "gone@example.com", "c@example.com"])
        email.security = .none
        let sender = SMTPSender(email: email, password: nil)
        var outcomes: [String: SendOutcome] = [:]
        for address in email.to { outcomes[address] = await sender.send(mail(email, to: address)) }
        #expect(outcomes["a@example.com"] == .delivered)
        #expect(outcomes["c@example.com"] == .delivered)
        guard case .rejected(.smtpRefused, let why)? = outcomes["gone@example.com"] else {
            Issue.record("expected a permanent refusal, got \(String(describing: outcomes["gone@example.com"]))")
            return
        }
        #expect(why.contains("550"))
        #expect(try await server.waitForMails(2).flatMap { $0["rcpt_tos"] as? [String] ?? [] } == ["a@example.com", "c@example.com"])

        let down = EmailReceiver(host: "127.0.0.1", port: freePort(), from: "storey@example.com", to: ["a@example.com"])
        #expect(await SMTPSender(email: down, password: nil).send(mail(down, to: "a@example.com")).reason == .connection)
    }
}
