import Foundation
import StoreyConfig
import StoreyTestSupport
import Testing

@testable import StoreyDelivery

@Suite struct DeliveryConfigurationTests {
    let directory = try! makeTemporaryDirectory(prefix: "storey-delivery-config")

    func load(_ delivery: String) throws(ConfigErrors) -> Configuration {
        let topology = """
            buildings:
              - id: t1
                time_zone: Asia/Shanghai
                land_area: 1000
                floors:
                  - level: 1
                    area: 500
            """
        try! topology.write(toFile: directory.appendingPathComponent("topology.yaml").path, atomically: true, encoding: .utf8)
        let main = "mqtt:\n  url: mqtt://127.0.0.1:1883\ntopology: topology.yaml\n" + delivery
        let file = directory.appendingPathComponent("storey.yaml").path
        try! main.write(toFile: file, atomically: true, encoding: .utf8)
        return try ConfigurationLoader.load(file: file)
    }

    func errors(_ delivery: String) -> [String] {
        do {
            _ = try load(delivery)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func aFullDeliverySectionIsRead() throws {
        try Fixtures.secret.write(toFile: directory.appendingPathComponent("whsec").path, atomically: true, encoding: .utf8)
        let configuration = try load("""
            delivery:
              external_url: https://storey.example.com
              time_zone: Asia/Shanghai
              retry: { initial: 2s, maximum: 10m, give_up_after: 2d }
              receivers:
                - name: ops-hook
                  webhook: { url: "https://hooks.example.com/storey", secret_files: [whsec], secret_credentials: [whsec-next], timeout: 5s }
                - name: chain-bot
                  language: zh-Hans
                  webhook: { url: "https://oapi.dingtalk.com/robot/send?access_token=x", preset: dingtalk, signing_secret_credential: ding }
                - name: ops-mail
                  email:
                    server: smtp://mail.example.com:587
                    from: "Storey <storey@example.com>"
                    to: [a@example.com, b@example.com]
                    username: storey
                    password_credential: smtp-password
                    auth: login
              time_intervals:
                - name: nights
                  time_zone: Asia/Shanghai
                  intervals:
                    - { weekdays: [mon-fri], times: ["22:00-07:00"] }
                    - { dates: ["2026-10-01..2026-10-07"] }
              route:
                receiver: ops-mail
                group_by: [building]
                group_wait: 30s
                group_interval: 5m
                routes:
                  - matchers: ['severity="critical"']
                    receiver: ops-hook
                    continue: true
                  - matchers: ['chain=~"electronics|biomedicine"']
                    receiver: chain-bot
                    mute_time_intervals: [nights]
            """)
        let delivery = try #require(configuration.delivery)
        #expect(delivery.receivers.map(\.name) == ["ops-hook", "chain-bot", "ops-mail"])
        #expect(delivery.retry.giveUpAfter == 172_800)
        guard case .email(let email) = delivery.receivers[2].kind else {
            Issue.record("ops-mail is an email receiver")
            return
        }
        #expect(email.security == .starttls && email.port == 587 && email.authentication == .login)
        #expect(email.password == .credential("smtp-password"))
        #expect(delivery.route.routes[1].muteTimeIntervals == ["nights"])
        #expect(delivery.route.matches(["severity": "critical", "chain": "electronics"]).map(\.receiver) == ["ops-hook", "chain-bot"])
        #expect(delivery.timeIntervals["nights"]?.intervals.count == 2)
    }

    /// The example in Deploy/config/storey.yaml is commented out (the demo runs without delivery); uncommented,
    /// it must load.
    @Test func theExampleDeliverySectionIsValid() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let example = try String(contentsOf: repository.appendingPathComponent("Deploy/config/storey.yaml"), encoding: .utf8)
        let lines = example.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "# delivery:"))
        let uncommented = lines[..<start] + lines[start...].map { $0.hasPrefix("# ") ? String($0.dropFirst(2)) : $0 }
        let file = directory.appendingPathComponent("storey.yaml").path
        try uncommented.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: repository.appendingPathComponent("Deploy/config/topology.yaml").path, toPath: directory.appendingPathComponent("topology.yaml").path)
        let delivery = try #require(try ConfigurationLoader.load(file: file).delivery)
        #expect(delivery.receivers.map(\.name) == ["ops-webhook", "leasing-wecom", "park-dingtalk", "control-room-mail"])
        #expect(delivery.route.matches(["severity": "critical", "alertname": "idle-space"]).map(\.receiver) == ["ops-webhook", "leasing-wecom"])
    }

    @Test func mistakesAreNamedWithFileLineAndField() {
        let problems = errors("""
            delivery:
              receivers:
                - name: hook
                  webhook: { url: "ftp://x", secret_files: [missing-file] }
                - name: mail
                  email: { server: "mail.example.com", from: nobody, to: ["not an address"] }
                - name: hook
                  webhook: { url: "https://x.example.com" }
              route:
                receiver: nobody
                routes:
                  - matchers: ['severity']
                    mute_time_intervals: [weekends]
            """)
        let expected = [
            "storey.yaml:7: delivery.receivers[0].webhook.url: \"ftp://x\" is not an http:// or https:// address",
            "delivery.receivers[1].email.server: \"mail.example.com\" is not smtp://HOST:PORT or smtps://HOST:PORT",
            "delivery.receivers[2]: receiver \"hook\" is already defined at line 6",
            "delivery.route.receiver: no receiver named \"nobody\"",
            "delivery.route.routes[0].matchers[0]: \"severity\" is not a matcher",
            "delivery.route.routes[0].mute_time_intervals[0]: no time interval named \"weekends\"",
        ]
        for text in expected {
            #expect(problems.contains { $0.contains(text) }, "missing: \(text)\nin: \(problems.joined(separator: "\n"))")
        }
    }

    @Test func aBotURLWithItsTokenCanComeFromAFileOrCredential() throws {
        try "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key\n".write(
            toFile: directory.appendingPathComponent("wecom-url").path, atomically: true, encoding: .utf8)
        let configuration = try load("""
            delivery:
              receivers:
                - name: wecom
                  webhook: { url_file: wecom-url, preset: wecom }
                - name: ding
                  webhook: { url_credential: ding-url, preset: dingtalk }
              route: { receiver: wecom }
            """)
        let delivery = try #require(configuration.delivery)
        #expect(throws: DeliveryError.self) { try ReceiverSenders(delivery, environment: [:]) }
        try "https://oapi.dingtalk.com/robot/send?access_token=t".write(
            toFile: directory.appendingPathComponent("ding-url").path, atomically: true, encoding: .utf8)
        let senders = try ReceiverSenders(delivery, environment: ["CREDENTIALS_DIRECTORY": directory.path])
        let message = Fixtures.message([Fixtures.notification()])
        #expect(senders.webhooks["wecom"]?.request(message, now: 0).url == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key")
        #expect(senders.webhooks["ding"]?.request(message, now: 0).url == "https://oapi.dingtalk.com/robot/send?access_token=t")
        #expect(errors("""
            delivery:
              receivers:
                - name: both
                  webhook: { url: "https://a.example.com", url_credential: x }
              route: { receiver: both }
            """).contains { $0.contains("give the webhook one of url, url_file or url_credential") })
    }

    @Test func aWebhookSecretMustBeInStandardWebhooksForm() {
        try! "hunter2".write(toFile: directory.appendingPathComponent("weak").path, atomically: true, encoding: .utf8)
        let problems = errors("""
            delivery:
              receivers:
                - name: hook
                  webhook: { url: "https://x.example.com", secret_files: [weak] }
              route: { receiver: hook }
            """)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("whsec_") == true)
    }

    @Test func retentionAndCommitBatchingAreReadWithDefaults() throws {
        let section = """
            delivery:
              receivers:
                - name: hook
                  webhook: { url: "https://x.example.com" }
              route: { receiver: hook }
            """
        let defaults = try #require(try load(section).delivery)
        #expect(defaults.retention == RetentionPolicy(delivered: 30 * 86_400, dead: 30 * 86_400, interval: 3600))
        #expect(defaults.outcomeBatch == OutcomeBatchPolicy(size: 64, within: 0.02))
        let set = try #require(try load(section + """

              retention: { delivered: 7d, dead: 90d, prune_every: 10m }
              commit_batch: { size: 1, within: 0.1s }
            """).delivery)
        #expect(set.retention == RetentionPolicy(delivered: 7 * 86_400, dead: 90 * 86_400, interval: 600))
        #expect(set.outcomeBatch == OutcomeBatchPolicy(size: 1, within: 0.1))
        let problems = errors(section + """

              retention: { delivered: 0s, kept: 3d }
              commit_batch: { size: 0, within: 1m }
            """)
        for text in [
            "delivery.retention.delivered: expected at least 1s", "delivery.retention.kept",
            "delivery.commit_batch.size", "delivery.commit_batch.within: expected at most 5s",
        ] {
            #expect(problems.contains { $0.contains(text) }, "missing: \(text)\nin: \(problems.joined(separator: "\n"))")
        }
    }
}
