import Foundation
import Logging
import PostgresNIO
import StoreyPostgres
import StoreyStore
import StoreyTestSupport
import Testing

/// `storage: postgresql` to a real PostgreSQL offering TLS: `sslmode=verify-full` with the estate's CA
/// connects encrypted, `require` encrypts without verifying; a server whose certificate the configured CA
/// did not sign, a wrong password and a server not listening are each refused at once with an error that
/// names what was wrong (tried: through the pool alone, a minute passed and the error said only that a
/// circuit breaker tripped).
@Suite struct PostgresConnectionTests {
    func open(_ query: String, password: String = TestPostgres.password, port: Int? = nil) async throws -> PostgresStore {
        guard TestPostgres.serverBinaries != nil else {
            try Test.cancel("skipped on PostgreSQL: its server is not installed here (apt-get install -y postgresql-15)")
        }
        let cluster = try await TestPostgres.shared()
        let name = try await cluster.makeDatabase(prefix: "tls")
        let location = try PostgresLocation(url: "postgresql://\(TestPostgres.user)@127.0.0.1:\(port ?? cluster.port)/\(name)?\(query)")
        return try await PostgresStore(location, password: password, logger: Logger(label: "test.tls"))
    }

    /// Whether this session's connection is encrypted, and with which protocol.
    func encryption(_ store: PostgresStore) async throws -> (ssl: Bool, version: String?) {
        for try await row in try await store.client.query(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: Logger(label: "test.tls")
        ).decode((Bool, String?).self) { return row }
        throw TestSupportError("pg_stat_ssl has no row for this session")
    }

    @Test func verifyFullWithTheEstatesCAConnectsEncrypted() async throws {
        let cluster = try await TestPostgres.shared()
        let store = try await open("sslmode=verify-full&sslrootcert=\(cluster.caFile)")
        defer { store.close() }
        let (ssl, version) = try await encryption(store)
        #expect(ssl)
        #expect(version == "TLSv1.3" || version == "TLSv1.2", "\(version ?? "none")")
    }

    @Test func requireEncryptsWithoutVerifying() async throws {
        let store = try await open("sslmode=require")
        defer { store.close() }
        #expect(try await encryption(store).ssl)
    }

    @Test func disableConnectsInPlainText() async throws {
        let store = try await open("sslmode=disable")
        defer { store.close() }
        #expect(try await encryption(store).ssl == false, "the probe tells plain from encrypted")
    }

    @Test func aServerCertificateTheConfiguredCADidNotSignIsRefused() async throws {
        _ = try await TestPostgres.shared()
        let other = try await TestCertificates.generate()
        do {
            let store = try await open("sslmode=verify-full&sslrootcert=\(other.caFile)")
            store.close()
            Issue.record("connected to a server whose certificate another CA signed")
        } catch {
            #expect("\(error)".localizedCaseInsensitiveContains("certificate"), "the error says what was refused: \(error)")
        }
    }

    @Test func aWrongPasswordIsRefusedSayingSo() async throws {
        await #expect {
            try await open("sslmode=disable", password: "not-the-password").close()
        } throws: { error in
            "\(error)".contains("password authentication failed for user \"\(TestPostgres.user)\"")
        }
    }

    @Test func aServerNotListeningIsNamed() async throws {
        let nobody = freePort()
        await #expect {
            try await open("sslmode=disable", port: nobody).close()
        } throws: { error in
            "\(error)".contains("127.0.0.1:\(nobody)") && "\(error)".localizedCaseInsensitiveContains("refused")
        }
    }
}
