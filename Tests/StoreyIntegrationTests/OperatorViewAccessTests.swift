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

    /// The token list as the packaged unit passes it (`LoadCredential=`), and health and metrics closed by
    /// configuration: they then need a token like the API, and refuse without one.
    @Test func tokensFromASystemdCredentialAndClosedHealthChecks() async throws {
        let broker = try await TestBroker()
        let credentials = try makeTemporaryDirectory(prefix: "storey-credentials")
        try "read credential-read-token-0123\nadmin credential-admin-token-0123\n".write(
            toFile: credentials.appendingPathComponent("api-tokens").path, atomically: true, encoding: .utf8)
        let daemon = try StoreydProcess(topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
        try daemon.writeConfiguration(
            topology: IntegrationTopology.text, mqttSection: "http:\n  tokens_credential: api-tokens\n  open_health: false\n")
        daemon.extraEnvironment = ["CREDENTIALS_DIRECTORY": credentials.path]
        try daemon.start()
        let base = "http://127.0.0.1:\(daemon.httpPort)"
        func status(_ path: String, token: String? = nil, method: String = "GET") async throws -> String {
            try await curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", method] + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []) + [base + path]).output
        }
        try await daemon.waitUntil("ready, asked with the read token") { try await status("/readyz", token: "credential-read-token-0123") == "200" }
        for path in ["/healthz", "/readyz", "/metrics", "/api/v1/live"] {
            #expect(try await status(path) == "401", "\(path) without a token")
            #expect(try await status(path, token: "credential-read-token-0123") == "200", "\(path) with the read token")
        }
        // The dashboard's own files and the OpenAPI document stay open: they hold no data.
        #expect(try await status("/") == "200")
        #expect(try await status("/api/v1/openapi.yaml") == "200")
        // 401 without a valid token, 403 for a read token on an admin action, through to the handler for admin.
        #expect(try await status("/api/v1/outbox/1/replay", method: "POST") == "401")
        #expect(try await status("/api/v1/outbox/1/replay", token: "credential-read-token-0123", method: "POST") == "403")
        #expect(try await status("/api/v1/outbox/1/replay", token: "credential-admin-token-0123", method: "POST") == "404")
        try await daemon.stop()

        // A credential the service was not given stops start-up, saying which file to create.
        try FileManager.default.removeItem(at: credentials.appendingPathComponent("api-tokens"))
        try daemon.start()
        try await daemon.waitUntil("storeyd exits") { !daemon.isRunning }
        #expect(daemon.log.contains("credential \"api-tokens\" was not passed to the service"), "\(daemon.log.suffix(2000))")
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
