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

    /// An operator who uncomments the example configuration's secrets gets credentials the unit passes
    /// (storeyd refuses to start on a named credential it was not given), or is told which drop-in to add.
    @Test func theExampleConfigurationNamesOnlyCredentialsTheUnitLoads() throws {
        let unit = try String(contentsOf: Repository.file("systemd/storeyd.service"), encoding: .utf8)
        let loaded = Set(unit.split(separator: "\n").filter { $0.hasPrefix("LoadCredential=") }.map {
            String($0.dropFirst("LoadCredential=".count).prefix { $0 != ":" })
        })
        let example = try String(contentsOf: Repository.file("Deploy/config/storey.yaml"), encoding: .utf8)
        var named = 0
        for line in example.split(separator: "\n") {
            guard let match = line.firstMatch(of: /_credentials?: \[?([A-Za-z0-9._-]+)/) else { continue }
            named += 1
            let name = String(match.1)
            #expect(loaded.contains(name) || line.contains("LoadCredential=\(name):"), "\(line): the unit does not load \(name)")
        }
        #expect(named >= 4, "the example names its secrets as credentials")
    }
}
