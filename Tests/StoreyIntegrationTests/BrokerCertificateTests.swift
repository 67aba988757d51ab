import Foundation
import StoreyTestSupport
import Testing

/// A broker that accepts mutual TLS only: storeyd connects with the right client certificate
/// (`DaemonTests.mutualTLSBrokerWithCertificatesMadeAtTestTime`), and with a wrong or expired one it is
/// refused, stays not ready, and says why in a log line.
@Suite(.timeLimit(.minutes(3)))
struct BrokerCertificateTests {
    @Test(arguments: [TestCertificates.ClientProblem.foreign, .expired])
    func aRefusedClientCertificateIsLoggedWithItsCause(_ problem: TestCertificates.ClientProblem) async throws {
        let certificates = try await TestCertificates.generate()
        let (certFile, keyFile) = try await certificates.makeClientCertificate(problem)
        let broker = try await TestBroker(TestBrokerOptions(certificates: certificates, requireClientCertificate: true))
        defer { broker.stop() }
        let daemon = try StoreydProcess(
            topology: IntegrationTopology.text, brokerURL: "mqtts://127.0.0.1:\(try #require(broker.tlsPort))",
            mqttSection: """
                  ca_file: \(certificates.caFile)
                  cert_file: \(certFile)
                  key_file: \(keyFile)
                """)
        try daemon.start()
        // What the broker's TLS alert says, as OpenSSL names it.
        let cause = problem == .expired ? "certificate expired" : "unknown ca"
        try await daemon.waitUntil("a refusal naming \(cause)") {
            daemon.log.split(separator: "\n").contains { $0.hasPrefix("<4>MQTT connection attempt failed") && $0.contains(cause) }
        }
        #expect(try await daemon.httpStatus("/readyz") == 503)
        #expect(try await daemon.metric("storey_mqtt_connected") == 0)
        #expect(daemon.isRunning, "a refused certificate is retried with backoff, not a reason to exit")
        #expect(try await daemon.stop() == 0)
    }
}
