import Foundation
import StoreyTestSupport
import Testing

/// The unit file itself, scored by systemd's own analysis (no root and no container needed).
@Suite struct UnitFileTests {
    @Test func hardeningRatesAtMostOnePointFive() async throws {
        let analyze = try locateExecutable("systemd-analyze", package: "systemd")
        let result = try await runCommand(analyze, ["security", "--offline=yes", Repository.file("systemd/storeyd.service").path])
        let verdict = (result.output + result.errorOutput).split(separator: "\n").first { $0.contains("Overall exposure level") } ?? ""
        // "→ Overall exposure level for storeyd.service: 1.1 OK 🙂"
        let score = verdict.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
        let exposure = try #require(score, "no score in: \(result.output) \(result.errorOutput)")
        #expect(exposure <= 1.5, "\(verdict)")
    }

    @Test func everyCredentialIsOptionalOnSystemd252() throws {
        // LoadCredential=ID:/absolute/path fails the start (243/CREDENTIALS) when the file is missing;
        // a credential-store name (no slash) does not: the secrets storeyd may not need must be the latter.
        let unit = try String(contentsOf: Repository.file("systemd/storeyd.service"), encoding: .utf8)
        let credentials = unit.split(separator: "\n").filter { $0.hasPrefix("LoadCredential=") }
        #expect(credentials.count >= 4)
        for line in credentials {
            #expect(!line.contains("/"), "\(line) fails the start when its file is missing")
        }
    }
}
