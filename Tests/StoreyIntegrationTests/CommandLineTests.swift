import Foundation
import StoreyTestSupport
import Testing

/// The operator's `storey` tool, run as the real binary.
@Suite struct CommandLineTests {
    static var storey: URL { StoreydProcess.binary.deletingLastPathComponent().appendingPathComponent("storey") }

    func folder(topology: String) throws -> String {
        let directory = try makeTemporaryDirectory(prefix: "storey-cli")
        try "mqtt:\n  url: mqtt://127.0.0.1:1883\ntopology: topology.yaml\n"
            .write(toFile: directory.appendingPathComponent("storey.yaml").path, atomically: true, encoding: .utf8)
        try topology.write(toFile: directory.appendingPathComponent("topology.yaml").path, atomically: true, encoding: .utf8)
        return directory.path
    }

    @Test func checkAcceptsTheExampleConfiguration() async throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Deploy/config/storey.yaml").standardized.path
        let result = try await runCommand(Self.storey, ["check", "--config", example])
        #expect(result.status == 0)
        #expect(result.output.contains("ok: 1 buildings, 24 floors, 45 spaces, 40 tenants"))
    }

    @Test func checkExitsNonZeroNamingFileLineAndField() async throws {
        let directory = try folder(topology: IntegrationTopology.text.replacingOccurrences(of: "capacity: 30", with: "capacity: many"))
        let result = try await runCommand(Self.storey, ["check", "--config", "\(directory)/storey.yaml"])
        #expect(result.status == 1)
        #expect(result.errorOutput.contains("\(directory)/topology.yaml:12: buildings[0].floors[0].spaces[0].capacity: expected a whole number, got \"many\""))
    }

    @Test func checkAcceptsAPostgreSQLStoreWithShards() async throws {
        let directory = try folder(topology: IntegrationTopology.text)
        let port = freePort()
        try """
            mqtt:
              url: mqtt://127.0.0.1:1883
            storage:
              postgresql:
                url: postgresql://storey@127.0.0.1:\(port)/storey
                shards:
                  - { name: tower, buildings: [t] }
            topology: topology.yaml

            """.write(toFile: "\(directory)/storey.yaml", atomically: true, encoding: .utf8)
        let check = try await runCommand(Self.storey, ["check", "--config", "\(directory)/storey.yaml"])
        #expect(check.status == 0, "\(check.errorOutput)")
        #expect(check.output.contains("storage: PostgreSQL, instance \(ProcessInfo.processInfo.hostName), 1 shards, owns tower"), "\(check.output)")
        // The commands that read stored data go to the estate's database (nothing listens there): they name
        // it in their error, and open no SQLite file instead.
        for command in ["alerts", "figures --scope tenant:alpha", "outbox list"] {
            let arguments = command.split(separator: " ").map(String.init) + ["--config", "\(directory)/storey.yaml", "--database", "\(directory)/storey.db"]
            let started = ContinuousClock.now
            let result = try await runCommand(Self.storey, arguments)
            #expect(result.status != 0 && result.errorOutput.contains("cannot connect to PostgreSQL at 127.0.0.1:\(port)/storey"), "storey \(command): \(result.errorOutput)")
            #expect(ContinuousClock.now - started < .seconds(20), "storey \(command) gave up only after \(ContinuousClock.now - started)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/storey.db"))
    }

    @Test func topicsPrintsOneTabSeparatedLinePerPoint() async throws {
        let directory = try folder(topology: IntegrationTopology.text)
        let result = try await runCommand(Self.storey, ["topics", "--config", "\(directory)/storey.yaml"])
        #expect(result.status == 0)
        #expect(result.output.split(separator: "\n") == [
            "storey/t/1/s1/s1-kw\ts1-kw\tpower\tkW",
            "storey/t/1/s1/s1-kwh\ts1-kwh\tenergy\tkWh",
            "storey/t/1/s1/s1-people\ts1-people\toccupancy\tpersons",
            "storey/t/1/s2/s2-kw\ts2-kw\tpower\tkW",
        ])
    }
}
