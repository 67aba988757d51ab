import Foundation
import StoreyConfig
import StoreyStore
import StoreyTestSupport
import Testing

/// The `storage` section: SQLite by default, or a PostgreSQL store with this instance's shards of the estate.
@Suite struct StorageConfigurationTests {
    static let estate = estateTopology(buildings: ["north", "south", "east"])

    func main(_ storage: String) -> (ConfigFolder, String) {
        let folder = ConfigFolder()
        _ = folder.write("topology.yaml", Self.estate)
        return (folder, folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\n\(storage)topology: topology.yaml\n"))
    }

    @Test func withoutAStorageSectionItIsTheSQLiteFile() throws {
        let (_, file) = main("database: /var/lib/storey/storey.db\n")
        let configuration = try ConfigurationLoader.load(file: file)
        #expect(configuration.storage == .sqlite)
        #expect(configuration.databasePath == "/var/lib/storey/storey.db")
        let (_, named) = main("storage: sqlite\n")
        #expect(try ConfigurationLoader.load(file: named).storage == .sqlite)
    }

    @Test func postgresqlWithShardsOwnedAndStoodBy() throws {
        let (_, file) = main("""
            storage:
              postgresql:
                url: postgresql://storey@db.estate.example:5433/storey?sslmode=verify-full&sslrootcert=/etc/storey/db-ca.pem
                password_credential: db-password
                instance: storey-b
                shards:
                  - { name: north-side, buildings: [north] }
                  - { name: south_east, buildings: [south, east] }
                owns: [south_east]
                standby: true

            """)
        guard case .postgresql(let storage) = try ConfigurationLoader.load(file: file).storage else {
            Issue.record("expected the PostgreSQL store")
            return
        }
        #expect(storage.location == PostgresLocation(host: "db.estate.example", port: 5433, user: "storey", database: "storey", tls: .verifyFull, rootCertificate: "/etc/storey/db-ca.pem"))
        #expect(storage.password == .credential("db-password"))
        #expect(storage.instance == "storey-b")
        #expect(storage.shards == [ShardConfiguration(name: "north-side", buildings: ["north"]), ShardConfiguration(name: "south_east", buildings: ["south", "east"])])
        #expect(storage.owns == ["south_east"])
        #expect(storage.standbyFor == ["north-side"])
    }

    @Test func withoutShardsTheWholeEstateIsOneShardThisInstanceTakes() throws {
        let (_, file) = main("storage:\n  postgresql:\n    url: postgresql://storey@127.0.0.1/storey\n    password_file: /etc/storey/db-password\n")
        guard case .postgresql(let storage) = try ConfigurationLoader.load(file: file).storage else {
            Issue.record("expected the PostgreSQL store")
            return
        }
        #expect(storage.shards == [ShardConfiguration(name: "estate", buildings: ["north", "south", "east"])])
        #expect(storage.owns == ["estate"])
        #expect(!storage.standby && storage.standbyFor.isEmpty)
        #expect(storage.password == .file("/etc/storey/db-password"))
        #expect(storage.instance == ProcessInfo.processInfo.hostName)
        #expect(storage.location.tls == .prefer && storage.location.port == 5432)
    }

    @Test func aShardSubscribesToItsOwnBuildingsTopicsOnly() throws {
        let folder = ConfigFolder()
        // One point of "south" on a topic outside the prefix's tree.
        _ = folder.write("topology.yaml", Self.estate.replacingOccurrences(
            of: "{ id: south-kwh, quantity: energy }", with: "{ id: south-kwh, quantity: energy, topic: meters/south/kwh }"))
        let file = folder.write("storey.yaml", "mqtt:\n  url: mqtt://127.0.0.1:1883\ntopology: topology.yaml\n")
        let configuration = try ConfigurationLoader.load(file: file)
        #expect(configuration.subscriptions(forBuildings: ["north"]) == ["storey/north/#"])
        #expect(configuration.subscriptions(forBuildings: ["south", "east"]) == ["storey/south/#", "storey/east/#", "meters/south/kwh"])
        #expect(configuration.subscriptions(forBuildings: []).isEmpty)
    }

    @Test func mistakesNameTheFieldAndLine() {
        let (folder, file) = main("""
            storage:
              postgresql:
                url: postgresql://storey:secret@db/storey
                password_file: /etc/storey/db-password
                password_credential: db-password
                instance: "storey b"
                shards:
                  - { name: north, buildings: [north, west] }
                  - { name: north, buildings: [south] }
                  - { name: "a/b", buildings: [south] }
                  - { name: more, buildings: [north] }
                owns: [north, nowhere]
                standbye: true

            """)
        let errors = folder.errors(file)
        #expect(errors.contains { $0.field == "storage.postgresql.url" && $0.line == 5 && $0.message.contains("carries a password") }, "\(errors)")
        #expect(errors.contains { $0.field == "storage.postgresql.password_credential" && $0.message.contains("not both") })
        #expect(errors.contains { $0.field == "storage.postgresql.instance" && $0.message.contains("\"storey b\"") })
        #expect(errors.contains { $0.field == "storage.postgresql.shards[0].buildings[1]" && $0.message.contains("no building \"west\"") })
        #expect(errors.contains { $0.field == "storage.postgresql.shards[1].name" && $0.line == 11 && $0.message.contains("already listed") })
        #expect(errors.contains { $0.field == "storage.postgresql.shards[2].name" && $0.message.contains("MQTT client id") })
        #expect(errors.contains { $0.field == "storage.postgresql.shards[3].buildings[0]" && $0.message.contains("already in shard \"north\"") })
        #expect(errors.contains { $0.field == "storage.postgresql.shards" && $0.message.contains("east in no shard") })
        #expect(errors.contains { $0.field == "storage.postgresql.owns[1]" && $0.message.contains("no shard is named \"nowhere\"") })
        #expect(errors.contains { $0.field == "storage.postgresql.standbye" && $0.message.contains("unknown key") })

        let (other, unknown) = main("storage: mysql\n")
        #expect(other.errors(unknown).contains { $0.field == "storage" && $0.message.contains("\"mysql\" is not a storage") })
        let (idle, owningNothing) = main("storage:\n  postgresql:\n    url: postgresql://storey@db/storey\n    owns: []\n")
        #expect(idle.errors(owningNothing).contains { $0.field == "storage.postgresql.owns" && $0.message.contains("must be a standby") })
        let (bad, badURL) = main("storage:\n  postgresql:\n    url: mysql://storey@db/storey\n")
        #expect(bad.errors(badURL).contains { $0.field == "storage.postgresql.url" && $0.message.contains("not a PostgreSQL URL") })
    }
}
