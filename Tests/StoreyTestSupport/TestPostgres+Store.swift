import Logging
import StoreyPostgres
import StoreyStore
import Testing

extension TestPostgres {
    /// A fresh database on the run's throwaway cluster, opened (and migrated) as storeyd opens one.
    /// Without PostgreSQL's server installed the calling test is cancelled, saying why.
    public static func freshStore(prefix: String = "storey") async throws -> PostgresStore {
        guard serverBinaries != nil else {
            try Test.cancel("skipped on PostgreSQL: its server is not installed here (apt-get install -y postgresql-15)")
        }
        let cluster = try await shared()
        let name = try await cluster.makeDatabase(prefix: prefix)
        let location = PostgresLocation(host: "127.0.0.1", port: cluster.port, user: user, database: name, tls: .disable)
        return try await PostgresStore(location, password: password, logger: Logger(label: "test.postgres"))
    }
}
