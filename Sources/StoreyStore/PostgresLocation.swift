import Foundation

/// Where the PostgreSQL store is, from a libpq-style URL:
/// `postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require|verify-full&sslrootcert=CA.pem]`.
/// The password is not part of it: it comes from a file or a systemd credential (configuration), so the
/// URL can be logged and shown.
public struct PostgresLocation: Sendable, Equatable {
    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        /// Plain TCP (a server on the same host or a private network).
        case disable
        /// TLS if the server offers it, without verifying it (libpq's default).
        case prefer
        /// TLS, without verifying the server's certificate.
        case require
        /// TLS, the certificate verified against `sslrootcert` (or the system's roots) and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var tls: TLSMode
    /// CA certificates (PEM) for `verify-full`; nil: the system's roots.
    public var rootCertificate: String?

    public init(host: String, port: Int = 5432, user: String, database: String, tls: TLSMode = .prefer, rootCertificate: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.tls = tls
        self.rootCertificate = rootCertificate
    }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme else {
            throw Invalid(description: "'\(url)' is not a URL; expected postgresql://USER@HOST[:PORT]/DATABASE")
        }
        guard scheme == "postgresql" || scheme == "postgres" else {
            throw Invalid(description: "'\(scheme)://' is not a PostgreSQL URL; expected postgresql://USER@HOST[:PORT]/DATABASE")
        }
        guard components.password == nil else {
            throw Invalid(description: "the URL carries a password; give it in a file or a systemd credential instead (password_file)")
        }
        guard let host = components.host, !host.isEmpty else { throw Invalid(description: "the URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw Invalid(description: "the URL names no user (postgresql://USER@HOST/DATABASE)") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw Invalid(description: "the URL names no database (postgresql://USER@HOST/DATABASE)") }
        var tls = TLSMode.prefer
        var rootCertificate: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    let known = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw Invalid(description: "sslmode '\(item.value ?? "")' is not one of \(known)")
                }
                tls = mode
            case "sslrootcert":
                rootCertificate = item.value
            default:
                throw Invalid(description: "unknown URL parameter '\(item.name)' (known: sslmode, sslrootcert)")
            }
        }
        self.init(host: host, port: components.port ?? 5432, user: user, database: database, tls: tls, rootCertificate: rootCertificate)
    }
}
