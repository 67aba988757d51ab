import Foundation
import StoreyIntake
import StoreyTestSupport
import Testing

struct MQTTIntakeSecurityTests {
    @Test(arguments: [MQTTProtocolVersion.v311, .v5])
    func receivesOverTLSWithTheBrokerVerified(version: MQTTProtocolVersion) async throws {
        let certificates = try await TestCertificates.generate()
        let broker = try await TestBroker(TestBrokerOptions(certificates: certificates))
        defer { broker.stop() }
        let topic = uniqueName("storey/tls")
        let tls = MQTTTLSSettings(caFile: certificates.caFile)
        var intakeSettings = settings(broker, version, [MQTTSubscription(topicFilter: topic, qos: 1)])
        intakeSettings.port = try #require(broker.tlsPort)
        intakeSettings.tls = tls
        let running = RunningIntake(intakeSettings)
        try await running.waitUntilSubscribed()
        try await publishNumbered(20, topic: topic, port: intakeSettings.port, qos: 1, protocolVersion: version, tls: tls)
        #expect(try await running.collect(20).map(\.payload) == (0..<20).map { "\($0)" })
        try await running.stop()
    }

    @Test func mutualTLSConnectsWithAClientCertificateAndFailsWithout() async throws {
        let certificates = try await TestCertificates.generate()
        let broker = try await TestBroker(TestBrokerOptions(certificates: certificates, requireClientCertificate: true))
        defer { broker.stop() }
        let port = try #require(broker.tlsPort)
        let topic = uniqueName("storey/mtls")
        let mutual = MQTTTLSSettings(caFile: certificates.caFile, certFile: certificates.clientCertFile, keyFile: certificates.clientKeyFile)

        var withCertificate = settings(broker, .v311, [MQTTSubscription(topicFilter: topic, qos: 1)])
        withCertificate.port = port
        withCertificate.tls = mutual
        let running = RunningIntake(withCertificate)
        try await running.waitUntilSubscribed()
        try await publishNumbered(5, topic: topic, port: port, qos: 1, tls: mutual)
        #expect(try await running.collect(5).count == 5)
        try await running.stop()

        var withoutCertificate = withCertificate
        withoutCertificate.clientID = uniqueName("no-cert")
        withoutCertificate.tls = MQTTTLSSettings(caFile: certificates.caFile)
        let refused = RunningIntake(withoutCertificate)
        try await Task.sleep(for: .seconds(1))
        let status = refused.intake.status
        #expect(status.connects == 0)
        #expect(status.state != .subscribed)
        #expect(status.failedAttempts >= 1)
        #expect(status.lastError != nil)
        try await refused.stop()

        let publisher = MQTTPublisher(
            settings: MQTTSettings(port: port, clientID: uniqueName("pub"), cleanSession: true, tls: MQTTTLSSettings(caFile: certificates.caFile)))
        await #expect(throws: MQTTError.self) { try await publisher.connect() }
    }

    @Test func unreadableCAFileIsReportedByName() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        var intakeSettings = settings(broker, .v311, [MQTTSubscription(topicFilter: "x", qos: 0)])
        intakeSettings.tls = MQTTTLSSettings(caFile: "/nonexistent/storey-ca.pem")
        let intake = MQTTIntake(settings: intakeSettings, logger: .init(label: "test"))
        await #expect(throws: MQTTError.unreadableFile(role: "TLS CA file", path: "/nonexistent/storey-ca.pem")) {
            try await intake.run()
        }
        #expect(intake.status.lastError?.contains("/nonexistent/storey-ca.pem") == true)
    }

    @Test func usernameAndPasswordAreCheckedAgainstThePasswordFile() async throws {
        let broker = try await TestBroker(TestBrokerOptions(users: ["storey": "s3cret", "other": "x"]))
        defer { broker.stop() }
        let topic = uniqueName("storey/auth")
        var good = settings(broker, .v5, [MQTTSubscription(topicFilter: topic, qos: 1)])
        good.username = "storey"
        good.password = "s3cret"
        let running = RunningIntake(good)
        try await running.waitUntilSubscribed()
        let publisher = MQTTPublisher(
            settings: MQTTSettings(port: broker.port, clientID: uniqueName("pub"), cleanSession: true, username: "other", password: "x"))
        try await publisher.connect()
        try await publisher.publish(topic: topic, payload: "hello", qos: 1)
        await publisher.disconnect()
        #expect(try await running.collect(1).map(\.payload) == ["hello"])
        try await running.stop()

        var wrong = good
        wrong.clientID = uniqueName("wrong")
        wrong.password = "guess"
        let refused = RunningIntake(wrong)
        try await Task.sleep(for: .milliseconds(700))
        #expect(refused.intake.status.connects == 0)
        #expect(refused.intake.status.lastError?.contains("refused") == true)
        try await refused.stop()
    }
}
