import Logging
import NIOSSL
import PostgresNIO
import StoreyStore
import Synchronization

/// One PostgreSQL database shared by every Storey instance of an estate: a pool of connections
/// (postgres-nio's `PostgresClient`, run in a task of its own) with the schema migrated on open.
/// Migrations run under an advisory lock, so instances started together migrate once.
public final class PostgresStore: Sendable {
    public let client: PostgresClient
    public let location: PostgresLocation
    let logger: Logger
    private let running: Task<Void, Never>
    /// For connections outside the pool (a shard's advisory locks live and die with their connection).
    private let dedicated: PostgresConnection.Configuration
    private let connectionIDs = Atomic<Int>(1_000_000)

    public init(_ location: PostgresLocation, password: String?, logger: Logger, maximumConnections: Int = 8) async throws {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: password, database: location.database,
            tls: try Self.tls(location))
        configuration.options.maximumConnections = maximumConnections
        var dedicated = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password, database: location.database,
            tls: try Self.connectionTLS(location))
        dedicated.options.connectTimeout = .seconds(10)
        self.dedicated = dedicated
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
            try await probe()
            try await PostgresSchema.migrate(client, logger: logger)
        } catch {
            running.cancel()
            throw error
        }
    }

    /// One connection on its own first: the pool, failing to connect, says only that its circuit breaker
    /// tripped, and after a minute; this says at once what was wrong (refused, certificate, password).
    private func probe() async throws {
        do {
            try await dedicatedConnection(name: "storey (connection check)").close()
        } catch {
            throw PostgresStoreError(
                "cannot connect to PostgreSQL at \(location.host):\(location.port)/\(location.database) as \(location.user) "
                    + "(sslmode=\(location.tls.rawValue)): \(Self.reason(error))")
        }
    }

    /// What went wrong, in words: the server's message, or the connection's or TLS handshake's error
    /// (postgres-nio's own description of an error leaves both out).
    static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying { return "\(underlying)" }
        return "\(error.code)"
    }

    deinit { running.cancel() }

    /// Closes every connection (the pool's task ends).
    public func close() { running.cancel() }

    /// Runs `body` in one transaction on one connection: committed if it returns, rolled back if it throws.
    /// The body's own error is thrown as it was (postgres-nio wraps it; the caller wants to know it).
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError, error.rollbackError == nil { throw inner }
            throw error
        }
    }

    /// A connection of its own, outside the pool, closed by the caller; `name` shows in `pg_stat_activity`.
    /// With `keepalive`, the server probes the connection every few seconds, so it notices a client gone
    /// without a word (a network cut) in about 10 s instead of TCP's default two hours, and frees its locks.
    public func dedicatedConnection(name: String, keepalive: Bool = false) async throws -> PostgresConnection {
        var configuration = dedicated
        configuration.options.additionalStartupParameters = [("application_name", name)]
        if keepalive {
            configuration.options.additionalStartupParameters += [
                ("tcp_keepalives_idle", "4"), ("tcp_keepalives_interval", "2"), ("tcp_keepalives_count", "3"),
            ]
        }
        return try await PostgresConnection.connect(
            on: PostgresClient.defaultEventLoopGroup.any(), configuration: configuration,
            id: connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger
        ).get()
    }

    /// TLS as the URL's `sslmode` asks (nil: none); TLS 1.2 at least.
    private static func tlsConfiguration(_ location: PostgresLocation) throws -> TLSConfiguration? {
        guard location.tls != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if location.tls == .verifyFull {
            tls.certificateVerification = .fullVerification
            if let file = location.rootCertificate { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file)) }
        } else {
            tls.certificateVerification = .none
        }
        return tls
    }

    private static func tls(_ location: PostgresLocation) throws -> PostgresClient.Configuration.TLS {
        guard let tls = try tlsConfiguration(location) else { return .disable }
        return location.tls == .prefer ? .prefer(tls) : .require(tls)
    }

    private static func connectionTLS(_ location: PostgresLocation) throws -> PostgresConnection.Configuration.TLS {
        guard let tls = try tlsConfiguration(location) else { return .disable }
        let context = try NIOSSLContext(configuration: tls)
        return location.tls == .prefer ? .prefer(context) : .require(context)
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
        ("p4: shard owners", shards),
        ("p5: shard requests", shardRequests),
        ("p6: each intake's newest reading", intakeNewest),
    ]
}

/// The first row's single column, or nil if there is no row.
func first<Value: PostgresDecodable & Sendable>(_ type: Value.Type, _ rows: PostgresRowSequence) async throws -> Value? {
    for try await value in rows.decode(Value.self) { return value }
    return nil
}
