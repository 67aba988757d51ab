import Logging
import NIOSSL
import PostgresNIO

/// One PostgreSQL database shared by every Storey instance of an estate: a pool of connections
/// (postgres-nio's `PostgresClient`, run in a task of its own) with the schema migrated on open.
/// Migrations run under an advisory lock, so instances started together migrate once.
public final class PostgresStore: Sendable {
    public let client: PostgresClient
    public let location: PostgresLocation
    let logger: Logger
    private let running: Task<Void, Never>

    public init(_ location: PostgresLocation, password: String?, logger: Logger, maximumConnections: Int = 8) async throws {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: password, database: location.database,
            tls: try Self.tls(location))
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.location = location
        self.logger = logger
        // The pool serves leases only once `run()` is under way: wait for its task to begin it.
        let (started, begin) = AsyncStream<Void>.makeStream()
        running = Task {
            begin.finish()
            await client.run()
        }
        for await _ in started {}
        do {
            try await PostgresSchema.migrate(client, logger: logger)
        } catch {
            running.cancel()
            throw error
        }
    }

    deinit { running.cancel() }

    /// Closes every connection (the pool's task ends).
    public func close() { running.cancel() }

    /// Runs `body` in one transaction on one connection: committed if it returns, rolled back if it throws.
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await client.withTransaction(logger: logger) { connection in try await body(connection) }
    }

    private static func tls(_ location: PostgresLocation) throws -> PostgresClient.Configuration.TLS {
        switch location.tls {
        case .disable:
            return .disable
        case .prefer, .require:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return location.tls == .prefer ? .prefer(tls) : .require(tls)
        case .verifyFull:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.minimumTLSVersion = .tlsv12
            tls.certificateVerification = .fullVerification
            if let file = location.rootCertificate {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            }
            return .require(tls)
        }
    }
}

/// PostgreSQL's migrations, in order, recorded in `storey_migration` (names never change once released).
enum PostgresSchema {
    /// Any constant: the advisory lock taken while migrating.
    static let migrationLock: Int64 = 0x5354_4F52_4559_0001

    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS storey_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: logger)
            var applied = Set<String>()
            for try await name in try await connection.query("SELECT name FROM storey_migration", logger: logger).decode(String.self) {
                applied.insert(name)
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO storey_migration(name) VALUES (\(migration.name))", logger: logger)
                logger.info("PostgreSQL store migrated", metadata: ["migration": "\(migration.name)"])
            }
        }
    }

    static let migrations: [(name: String, statements: [String])] = [
        ("p1: outbox and delivery", outboxAndDelivery),
        ("p2: points, readings and figures", readingsAndFigures),
        ("p3: alerts, their history, silences and the evaluator's progress", alerts),
    ]
}
