import Foundation

/// Who may use the HTTP side, and how it is served: TLS, bearer tokens, open health checks.
public struct HTTPAccessConfiguration: Sendable, Equatable {
    /// Serve HTTPS with this certificate chain and key (PEM files); plain HTTP when nil.
    public var tls: HTTPTLSFiles?
    /// The token list (`SCOPE SECRET [NAME]` lines, see `TokenTable`); the API is open to anyone who can
    /// reach the address when nil, which only suits a loopback listener.
    public var tokens: SecretReference?
    /// `/healthz`, `/readyz` and `/metrics` without a token (for load balancers and Prometheus).
    public var openHealth = true
    /// Window events each event-stream client may have waiting before it is dropped as too slow.
    public var eventClientBuffer = 256
    /// Wrong tokens a client address may send within a minute before it is refused for a minute (429).
    public var failedTokenLimit = 30

    public init(tls: HTTPTLSFiles? = nil, tokens: SecretReference? = nil, openHealth: Bool = true, eventClientBuffer: Int = 256) {
        self.tls = tls
        self.tokens = tokens
        self.openHealth = openHealth
        self.eventClientBuffer = eventClientBuffer
    }

    /// The keys of the `http` section besides `address`.
    static let keys = ["tls_cert_file", "tls_key_file", "tokens_file", "tokens_credential", "open_health", "event_client_buffer", "failed_token_limit"]
}

public struct HTTPTLSFiles: Sendable, Equatable {
    public var certificateFile: String
    public var keyFile: String
    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

extension ConfigurationLoader {
    /// Reads the access settings of the `http` section (unknown keys are reported where the section is
    /// read for its address).
    static func readHTTPAccess(_ node: ConfigNode?) -> HTTPAccessConfiguration {
        var access = HTTPAccessConfiguration()
        guard let node, node.node.kind == .mapping else { return access }
        func entry(_ key: String) -> ConfigNode? {
            node.node[key].map { ConfigNode(node: $0, file: node.file, path: node.path.isEmpty ? key : "\(node.path).\(key)", problems: node.problems) }
        }
        let certificate = entry("tls_cert_file")?.string
        let key = entry("tls_key_file")?.string
        if let certificate, let key {
            access.tls = HTTPTLSFiles(certificateFile: certificate, keyFile: key)
        } else if certificate != nil || key != nil {
            node.fail("tls_cert_file and tls_key_file go together (HTTPS needs both)")
        }
        if let file = entry("tokens_file")?.string { access.tokens = .file(file) }
        if let credential = entry("tokens_credential") , let name = credential.string {
            if access.tokens != nil { credential.fail("give tokens_file or tokens_credential, not both") }
            access.tokens = .credential(name)
        }
        if let open = entry("open_health")?.bool { access.openHealth = open }
        if let buffer = entry("event_client_buffer")?.integer(minimum: 8, maximum: 100_000) { access.eventClientBuffer = buffer }
        if let limit = entry("failed_token_limit")?.integer(minimum: 1, maximum: 1_000_000) { access.failedTokenLimit = limit }
        return access
    }
}
