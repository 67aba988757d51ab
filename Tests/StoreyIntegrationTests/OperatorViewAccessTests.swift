import Foundation
import StoreyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How the daemon serves its view: HTTPS from the configured files, and a reload that changes the token
/// list and the topology the API shows, without a restart.
@Suite struct OperatorViewAccessTests {
    func curl(_ arguments: [String]) async throws -> CommandResult {
        try await runCommand(URL(fileURLWithPath: "/usr/bin/curl"), ["-s"] + arguments, timeout: .seconds(10))
    }

    @Test func httpsServesTheViewWithTheConfiguredCertificate() async throws {
        let broker = try await TestBroker()
        let certificates = try await TestCertificates.generate()
        let daemon = try StoreydProcess(topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
        try daemon.writeConfiguration(
            topology: IntegrationTopology.text,
            mqttSection: "http:\n  tls_cert_file: \(certificates.serverCertFile)\n  tls_key_file: \(certificates.serverKeyFile)\n")
        try daemon.start()
        let base = "https://127.0.0.1:\(daemon.httpPort)"
        try await daemon.waitUntil("HTTPS answers") {
            try await curl(["-o", "/dev/null", "-w", "%{http_code}", "--cacert", certificates.caFile, "\(base)/readyz"]).output == "200"
        }
        let topology = try await curl(["--cacert", certificates.caFile, "\(base)/api/v1/topology"])
        #expect(topology.output.contains("\"id\":\"alpha\""))
        // Plain HTTP on the same port is not served.
        #expect(try await curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(daemon.httpPort)/healthz"]).output != "200")
        try await daemon.stop()
        broker.stop()
    }

    @Test func aBadCertificateStopsStartUpNamingTheFile() async throws {
        let broker = try await TestBroker()
        let daemon = try StoreydProcess(topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
        let missing = daemon.directory.appendingPathComponent("nowhere.crt").path
        try daemon.writeConfiguration(topology: IntegrationTopology.text, mqttSection: "http:\n  tls_cert_file: \(missing)\n  tls_key_file: \(missing)\n")
        try daemon.start()
        try await daemon.waitUntil("storeyd exits") { !daemon.isRunning }
        #expect(daemon.log.contains(missing))
        broker.stop()
    }

    @Test func aReloadTakesTheNewTokenListAndTopologyAtOnce() async throws {
        let broker = try await TestBroker()
        let daemon = try StoreydProcess(topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
        let tokens = daemon.directory.appendingPathComponent("tokens")
        try "read first-token-0123456789\n".write(to: tokens, atomically: true, encoding: .utf8)
        try daemon.writeConfiguration(topology: IntegrationTopology.text, mqttSection: "http:\n  tokens_file: \(tokens.path)\n")
        try daemon.start()
        try await daemon.waitUntilReady()
        let url = "http://127.0.0.1:\(daemon.httpPort)/api/v1/topology"
        func status(_ token: String) async throws -> String {
            try await curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(token)", url]).output
        }
        #expect(try await status("first-token-0123456789") == "200")
        #expect(try await status("second-token-0123456789") == "401")

        try "read second-token-0123456789\n".write(to: tokens, atomically: true, encoding: .utf8)
        try daemon.writeTopology(IntegrationTopology.withNewPoint)
        daemon.signal(SIGHUP)
        try await daemon.waitUntil("the new token is accepted") { try await status("second-token-0123456789") == "200" }
        #expect(try await status("first-token-0123456789") == "401")
        let body = try await curl(["-H", "Authorization: Bearer second-token-0123456789", url]).output
        #expect(body.contains("\"id\":\"s2-people\""))

        // A token list that cannot be read refuses the reload: the second token still works.
        try "write nonsense\n".write(to: tokens, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        try await daemon.waitUntil("the reload is refused") { try await daemon.metric("storey_config_reload_failures_total") >= 1 }
        #expect(try await status("second-token-0123456789") == "200")
        #expect(daemon.log.contains("\"write\" is not a scope"))
        try await daemon.stop()
        broker.stop()
    }
}
