import Hummingbird
import Synchronization

/// Who may reach what: the dashboard's files and the OpenAPI document are open (they hold no data);
/// health and metrics are open unless configured otherwise; everything else under `/api/v1` needs a
/// `read` token, and anything but GET/HEAD an `admin` token. Without a token list the API is open.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: AccessPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard let needed = access.requiredScope(method: request.method, path: path) else {
            return try await next(request, context)
        }
        let (tokens, _) = access.current
        guard let tokens else { return try await next(request, context) }
        guard let header = request.headers[.authorization] else { throw Problem.unauthorized }
        // A client that has sent too many wrong tokens is refused before its token is even looked at.
        let client = context.clientAddress
        if let seconds = access.failedAttempts.retryAfter(client: client) { throw Problem.tooManyFailedAttempts(retryAfter: seconds) }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer ", let entry = tokens.match(header.dropFirst(7).trimmingSpaces) else {
            if access.failedAttempts.recordFailure(client: client) {
                context.logger.warning("API client locked out after too many wrong tokens", metadata: ["client": "\(client)"])
            }
            throw Problem.unauthorized
        }
        guard entry.scope >= needed else {
            throw Problem.forbidden("\(request.method) \(path) needs an \(needed.rawValue) token; \"\(entry.name)\" is a \(entry.scope.rawValue) token")
        }
        return try await next(request, context)
    }
}

/// The token list in force and whether health checks are open; replaced on reload.
public final class AccessPolicy: Sendable {
    private let state: Mutex<(tokens: TokenTable?, openHealth: Bool)>
    /// Wrong tokens per client address; kept across reloads.
    let failedAttempts: FailedTokenAttemptGuard

    public init(tokens: TokenTable?, openHealth: Bool, failedAttempts: FailedTokenAttempts = FailedTokenAttempts()) {
        state = Mutex((tokens, openHealth))
        self.failedAttempts = FailedTokenAttemptGuard(failedAttempts)
    }

    var current: (tokens: TokenTable?, openHealth: Bool) { state.withLock { $0 } }

    public func replace(tokens: TokenTable?, openHealth: Bool) {
        state.withLock { $0 = (tokens, openHealth) }
    }

    /// Puts these rules in front of a router of the daemon's own (an estate instance's).
    public func guardRoutes<Context: RequestContext>(of router: Router<Context>) {
        router.add(middleware: BearerAuthMiddleware(access: self))
    }

    /// The scope a request needs, or nil when it needs none.
    func requiredScope(method: HTTPRequest.Method, path: String) -> TokenScope? {
        switch path {
        case "/healthz", "/readyz", "/metrics":
            return current.openHealth ? nil : .read
        case "/api/v1/openapi.yaml":
            return nil
        default:
            guard path.hasPrefix("/api/") else { return nil }  // the dashboard's own files
            return method == .get || method == .head ? .read : .admin
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
