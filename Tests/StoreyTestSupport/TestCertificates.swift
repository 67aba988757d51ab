import Foundation

/// A throwaway certificate authority with a server certificate for 127.0.0.1/localhost and a client
/// certificate, generated with the `openssl` command in a temp folder (removed on deinit).
public final class TestCertificates: Sendable {
    public let directory: URL
    public var caFile: String { path("ca.crt") }
    public var serverCertFile: String { path("server.crt") }
    public var serverKeyFile: String { path("server.key") }
    public var clientCertFile: String { path("client.crt") }
    public var clientKeyFile: String { path("client.key") }

    private init(directory: URL) {
        self.directory = directory
    }

    /// Generates the CA, server and client certificates (EC P-256, valid two days).
    public static func generate() async throws -> TestCertificates {
        let openssl = try locateExecutable("openssl", package: "openssl")
        let certificates = TestCertificates(directory: try makeTemporaryDirectory(prefix: "storey-certs"))
        let dir = certificates.directory.path
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try await certificates.run(openssl, ["req", "-x509"] + key + ["-keyout", "\(dir)/ca.key", "-out", "\(dir)/ca.crt", "-days", "2", "-subj", "/CN=Storey Test CA"])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(toFile: "\(dir)/server.ext", atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: "\(dir)/client.ext", atomically: true, encoding: .utf8)
        for (name, commonName) in [("server", "localhost"), ("client", "storey-test-client")] {
            try await certificates.run(openssl, ["req"] + key + ["-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr", "-subj", "/CN=\(commonName)"])
            try await certificates.run(openssl, [
                "x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/ca.crt", "-CAkey", "\(dir)/ca.key", "-CAcreateserial",
                "-out", "\(dir)/\(name).crt", "-days", "2", "-extfile", "\(dir)/\(name).ext",
            ])
        }
        return certificates
    }

    /// Another client certificate and key for the refusals a broker must make: one signed by a CA of its
    /// own that the broker does not trust (`foreign`), or one signed by this CA that has expired
    /// (`expired`: its notAfter a day before its notBefore, which `openssl x509 -days -1` writes).
    public enum ClientProblem: String, Sendable { case foreign, expired }

    public func makeClientCertificate(_ problem: ClientProblem) async throws -> (certFile: String, keyFile: String) {
        let openssl = try locateExecutable("openssl", package: "openssl")
        let dir = directory.path
        let name = "client-\(problem.rawValue)"
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        var ca = (cert: caFile, key: "\(dir)/ca.key")
        if problem == .foreign {
            ca = (cert: "\(dir)/foreign-ca.crt", key: "\(dir)/foreign-ca.key")
            try await run(openssl, ["req", "-x509"] + key + ["-keyout", ca.key, "-out", ca.cert, "-days", "2", "-subj", "/CN=Storey Foreign CA"])
        }
        try await run(openssl, ["req"] + key + ["-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr", "-subj", "/CN=storey-\(name)"])
        try await run(openssl, [
            "x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
            "-out", "\(dir)/\(name).crt", "-days", problem == .expired ? "-1" : "2", "-extfile", "\(dir)/client.ext",
        ])
        return ("\(dir)/\(name).crt", "\(dir)/\(name).key")
    }

    private func run(_ openssl: URL, _ arguments: [String]) async throws {
        let result = try await runCommand(openssl, arguments)
        if result.status != 0 {
            throw TestSupportError("openssl \(arguments.first ?? "") failed (\(result.status)): \(result.errorOutput)")
        }
    }

    private func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }
}
