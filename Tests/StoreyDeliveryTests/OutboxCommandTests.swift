import Foundation
import Logging
import StoreyDelivery
import StoreyPostgres
import StoreyStore
import StoreyTestSupport
import Testing

/// `storey outbox` on an estate's configuration (`storage: postgresql`): it lists and replays the outbox
/// the instances share, in their database.
@Suite struct OutboxCommandTests {
    /// The `storey` built beside this test bundle.
    static var storey: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("storey")
    }

    @Test func anEstatesDeadLettersAreListedAndReplayedInPostgreSQL() async throws {
        guard TestPostgres.serverBinaries != nil else {
            try Test.cancel("skipped: the PostgreSQL server is not installed here (apt-get install -y postgresql-15)")
        }
        let cluster = try await TestPostgres.shared()
        let name = try await cluster.makeDatabase(prefix: "outbox_cli")
        let location = PostgresLocation(host: "127.0.0.1", port: cluster.port, user: TestPostgres.user, database: name, tls: .disable)
        let database = try await PostgresStore(location, password: TestPostgres.password, logger: Logger(label: "test.postgres"))
        defer { database.close() }

        // An instance's engine on the shared outbox: its receiver refuses the first request (400), a dead letter.
        let hook = try await TestWebhookReceiver(secrets: [Fixtures.secret], behaviour: ["--fail-first", "1", "--status", "400"])
        var receiver = WebhookReceiver(url: hook.url)
        let secretFile = try makeTemporaryDirectory(prefix: "storey-secret").appendingPathComponent("whsec").path
        try Fixtures.secret.write(toFile: secretFile, atomically: true, encoding: .utf8)
        receiver.secrets = [.file(secretFile)]
        let harness = try EngineHarness(
            .testing(receivers: [Receiver(name: "hook", kind: .webhook(receiver))], route: Route(receiver: "hook")),
            fixture: .sharing(database, instance: "a"))
        harness.start()
        defer { Task { await harness.stop() } }
        try await harness.insert([Fixtures.notificationJSON(kind: "firing", scopeID: "alpha")])
        try await harness.waitUntil("a dead letter") { try await harness.store.statistics().dead == 1 }

        // The operator's configuration of another instance of the estate.
        let directory = try makeTemporaryDirectory(prefix: "storey-outbox-cli")
        let passwordFile = directory.appendingPathComponent("pg-password").path
        try TestPostgres.password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try """
            buildings:
              - id: t
                time_zone: Asia/Shanghai
                land_area: 6666.7
                floors:
                  - level: 1
                    area: 1000
                    spaces:
                      - { id: s1, area: 500, points: [{ id: s1-kwh, quantity: energy }] }
            """.write(to: directory.appendingPathComponent("topology.yaml"), atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("storey.yaml").path
        try """
            mqtt: { url: "mqtt://127.0.0.1:1883" }
            storage:
              postgresql:
                url: postgresql://\(TestPostgres.user)@127.0.0.1:\(cluster.port)/\(name)?sslmode=disable
                password_file: \(passwordFile)
                instance: b
                shards: [{ name: all, buildings: [t] }]
                owns: [all]
            topology: topology.yaml
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let list = try await runCommand(Self.storey, ["outbox", "--config", config, "list", "--state", "dead"])
        #expect(list.status == 0, "\(list.errorOutput)")
        let line = try #require(list.output.split(separator: "\n").dropFirst().first, "\(list.output)")
        let fields = line.split(separator: "\t").map(String.init)
        #expect(fields[1] == "dead" && fields[2] == "hook" && fields[6] == "http_4xx", "\(fields)")
        #expect(list.errorOutput.contains("0 messages pending, 1 dead letters") && list.errorOutput.contains("hook: 1 dead after http_4xx"), "\(list.errorOutput)")

        let replay = try await runCommand(Self.storey, ["outbox", "--config", config, "replay", fields[0]])
        #expect(replay.status == 0 && replay.output.contains("replaying \(fields[0])"), "\(replay.errorOutput)")
        // The instance's engine sends it again at its next poll; now the receiver takes it.
        _ = try await hook.waitForAccepted(1)
        try await harness.waitUntil("no dead letters") { try await harness.store.statistics().dead == 0 }
        let again = try await runCommand(Self.storey, ["outbox", "--config", config, "replay", fields[0]])
        #expect(again.status == 1 && again.errorOutput.contains("no dead letter with id \(fields[0])"), "\(again.errorOutput)")
    }
}
