import Foundation
import StoreyConfig
import Testing

/// The `http` section beyond its address: TLS files, the token list, open health checks.
@Suite struct HTTPConfigurationTests {
    func main(_ http: String) -> (ConfigFolder, String) {
        let folder = ConfigFolder()
        _ = folder.write("topology.yaml", validTopology)
        return (folder, folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\nhttp:\n\(http)topology: topology.yaml\n"))
    }

    @Test func defaultsAreOpenHealthNoTokensNoTLS() throws {
        let (_, file) = main("  address: 127.0.0.1:9090\n")
        let configuration = try ConfigurationLoader.load(file: file)
        #expect(configuration.http == HostPort(host: "127.0.0.1", port: 9090))
        #expect(configuration.httpAccess == HTTPAccessConfiguration())
        #expect(configuration.httpAccess.openHealth)
        #expect(configuration.httpAccess.eventClientBuffer == 256)
    }

    @Test func withoutAnHTTPSectionTheViewListensOnLoopbackPort8080() throws {
        let folder = ConfigFolder()
        _ = folder.write("topology.yaml", validTopology)
        let file = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\ntopology: topology.yaml\n")
        #expect(try ConfigurationLoader.load(file: file).http == HostPort(host: "127.0.0.1", port: 8080))
        let section = folder.write("section.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\nhttp:\n  open_health: true\ntopology: topology.yaml\n")
        #expect(try ConfigurationLoader.load(file: section).http == HostPort(host: "127.0.0.1", port: 8080), "a section without an address")
    }

    @Test func tlsTokensAndOpenHealthAreRead() throws {
        let (_, file) = main("""
              address: 0.0.0.0:8443
              tls_cert_file: /etc/storey/https.crt
              tls_key_file: /etc/storey/https.key
              tokens_credential: storey-tokens
              open_health: false
              event_client_buffer: 64

            """)
        let access = try ConfigurationLoader.load(file: file).httpAccess
        #expect(access.tls == HTTPTLSFiles(certificateFile: "/etc/storey/https.crt", keyFile: "/etc/storey/https.key"))
        #expect(access.tokens == .credential("storey-tokens"))
        #expect(!access.openHealth)
        #expect(access.eventClientBuffer == 64)
    }

    @Test func theAccessSettingsAreReadEvenWhenTheAddressIsOverridden() throws {
        let (_, file) = main("  tokens_file: /etc/storey/tokens\n")
        let configuration = try ConfigurationLoader.load(file: file, overrides: ConfigurationOverrides(httpAddress: "127.0.0.1:7000"))
        #expect(configuration.http.port == 7000)
        #expect(configuration.httpAccess.tokens == .file("/etc/storey/tokens"))
    }

    @Test func mistakesNameTheFieldAndLine() {
        let (folder, file) = main("""
              tls_cert_file: /etc/storey/https.crt
              tokens_file: /etc/storey/tokens
              tokens_credential: storey-tokens
              open_health: sometimes
              event_client_buffer: 2
              token_file: /typo

            """)
        let errors = folder.errors(file)
        #expect(errors.contains { $0.field == "http" && $0.message.contains("tls_cert_file and tls_key_file go together") })
        #expect(errors.contains { $0.field == "http.tokens_credential" && $0.line == 6 && $0.message.contains("not both") })
        #expect(errors.contains { $0.field == "http.open_health" && $0.line == 7 })
        #expect(errors.contains { $0.field == "http.event_client_buffer" && $0.message.contains("at least 8") })
        #expect(errors.contains { $0.field == "http.token_file" && $0.message.contains("unknown key") })
        #expect(errors.count == 5)
    }
}
