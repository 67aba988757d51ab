import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster for this test run: Debian's PostgreSQL 15 server binaries, `initdb` into
/// a temp folder, `postgres` in the foreground on a free loopback port, fsync off (nothing here must
/// survive the machine). One cluster serves the whole run; each test takes a database of its own
/// (`makeDatabase()`), so tests run in parallel without seeing each other's rows.
///
/// PostgreSQL refuses to run as root: as root (CI) the cluster belongs to the `postgres` user that
/// Debian's package creates, and the server is started through `setpriv` (which execs, so the process
/// we stop is the postmaster itself).
public final class TestPostgres: Sendable {
    /// The role the tests connect as, with `password` over TCP (scram-sha-256), as a deployment would.
    public static let user = "storey"
    public static let password = "storey-test-password"

    public let port: Int
    public let directory: URL
    /// The CA that signed the server's certificate (for 127.0.0.1): connections may use TLS and verify it.
    public let caFile: String
    private let process: ChildProcess
    private let binaries: URL
    private let databases = Atomic<Int>(0)

    /// The run's cluster, started on first use. Throws `TestSupportError` naming what is missing when
    /// the server binaries are not installed (tests then say they were skipped, and why).
    public static func shared() async throws -> TestPostgres {
        try await SharedCluster.instance.get()
    }

    /// Where the PostgreSQL 15 server binaries are, or nil if they are not installed.
    public static var serverBinaries: URL? {
        for version in ["15", "16", "17"] {
            let folder = URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin")
            if FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("postgres").path) { return folder }
        }
        return nil
    }

    init() async throws {
        guard let binaries = Self.serverBinaries else {
            throw TestSupportError("PostgreSQL's server is not installed: apt-get install -y postgresql-15")
        }
        self.binaries = binaries
        directory = try makeTemporaryDirectory(prefix: "storey-postgres")
        let data = directory.appendingPathComponent("data")
        let runAs = try Self.runAsArguments(owning: directory)
        let passwordFile = directory.appendingPathComponent("password")
        try Self.password.write(to: passwordFile, atomically: true, encoding: .utf8)
        if !runAs.isEmpty { try Self.chown(passwordFile.path, to: "postgres") }
        let initdb = try await runCommand(
            URL(fileURLWithPath: runAs.first ?? binaries.appendingPathComponent("initdb").path),
            Array(runAs.dropFirst()) + (runAs.isEmpty ? [] : [binaries.appendingPathComponent("initdb").path]) + [
                "-D", data.path, "-U", Self.user, "--pwfile", passwordFile.path, "--auth-local=trust", "--auth-host=scram-sha-256",
                "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
            ], timeout: .seconds(120))
        guard initdb.status == 0 else {
            throw TestSupportError("initdb failed (\(initdb.status)): \(initdb.errorOutput)\(initdb.output)")
        }
        // TLS offered beside plain connections (host lines in pg_hba match both): a certificate for
        // 127.0.0.1 from a throwaway CA, whose certificate `caFile` keeps for tests verifying it.
        let certificates = try await TestCertificates.generate()
        let (serverCert, serverKey) = (directory.appendingPathComponent("server.crt").path, directory.appendingPathComponent("server.key").path)
        caFile = directory.appendingPathComponent("ca.crt").path
        for (from, to) in [(certificates.serverCertFile, serverCert), (certificates.serverKeyFile, serverKey), (certificates.caFile, caFile)] {
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
        // The server refuses a key others can read.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: serverKey)
        if !runAs.isEmpty { for file in [serverCert, serverKey] { try Self.chown(file, to: "postgres") } }
        port = freePort()
        let server = binaries.appendingPathComponent("postgres").path
        let arguments = [
            "-D", data.path, "-p", "\(port)", "-k", directory.path, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "log_lock_waits=on",
            "-c", "ssl=on", "-c", "ssl_cert_file=\(serverCert)", "-c", "ssl_key_file=\(serverKey)",
        ]
        process = try ChildProcess(
            runAs.first ?? server, Array(runAs.dropFirst()) + (runAs.isEmpty ? [] : [server]) + arguments,
            outputFile: directory.appendingPathComponent("postgres.log").path)
        try await waitUntilAccepting()
    }

    deinit { process.stop(signal: SIGQUIT) }

    /// Stops the server at once (the shared cluster is stopped when the test process exits).
    public func stop() { process.stop(signal: SIGQUIT) }

    /// A new, empty database for one test; returns its name.
    public func makeDatabase(prefix: String = "storey") async throws -> String {
        let name = "\(prefix)_\(getpid())_\(databases.add(1, ordering: .relaxed).newValue)"
        try await psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs SQL as the test role through `psql` (over the cluster's Unix socket) and returns its output,
    /// unaligned, one row per line, columns separated by `|`.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let result = try await runCommand(
            binaries.appendingPathComponent("psql"),
            ["-h", directory.path, "-p", "\(port)", "-U", Self.user, "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
        guard result.status == 0 else { throw TestSupportError("psql \(sql): \(result.errorOutput)") }
        return result.output
    }

    /// A connection URL for `database` over TCP with the password.
    public func url(database: String) -> String {
        "postgresql://\(Self.user):\(Self.password)@127.0.0.1:\(port)/\(database)"
    }

    private func waitUntilAccepting() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                let log = (try? String(contentsOf: directory.appendingPathComponent("postgres.log"), encoding: .utf8)) ?? ""
                throw TestSupportError("postgres exited at start: \(log.suffix(2000))")
            }
            if (try? await psql("SELECT 1")) == "1\n" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("postgres did not accept connections on port \(port) within 60 s")
    }

    /// As root: the cluster's folder goes to `postgres` and the commands run as that user.
    private static func runAsArguments(owning directory: URL) throws -> [String] {
        guard getuid() == 0 else { return [] }
        guard getpwnam("postgres") != nil else {
            throw TestSupportError("running as root, PostgreSQL needs its own user: apt-get install -y postgresql-15 creates 'postgres'")
        }
        try chown(directory.path, to: "postgres")
        return ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
    }

    private static func chown(_ path: String, to user: String) throws {
        guard let entry = getpwnam(user) else { throw TestSupportError("no user \(user)") }
        guard Glibc.chown(path, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
            throw TestSupportError("chown \(path) to \(user): \(String(cString: strerror(errno)))")
        }
    }
}

/// Starts the run's cluster once, whoever asks first (callers meanwhile wait for the same start), and
/// stops it when the test process exits.
private actor SharedCluster {
    static let instance = SharedCluster()
    private var starting: Task<TestPostgres, Error>?

    func get() async throws -> TestPostgres {
        if let starting { return try await starting.value }
        let task = Task {
            let cluster = try await TestPostgres()
            SharedClusterExit.register(cluster)
            return cluster
        }
        starting = task
        return try await task.value
    }
}

/// `atexit` takes a C function: the cluster to stop is kept here.
private enum SharedClusterExit {
    static let cluster = Mutex<TestPostgres?>(nil)
    static func register(_ postgres: TestPostgres) {
        cluster.withLock { $0 = postgres }
        atexit {
            SharedClusterExit.cluster.withLock { $0 }?.stop()
        }
    }
}
