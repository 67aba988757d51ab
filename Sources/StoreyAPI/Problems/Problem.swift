import Foundation
import Synchronization
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem document: what went wrong, for the person or program that asked.
///
/// `type` is a stable URI of the kind of problem (relative to the API, so it needs no registry of ours);
/// `detail` names what was wrong in this request; `parameter` names the offending query parameter or
/// path segment when there is one.
public struct Problem: Error, HTTPResponseError, Codable, Sendable, Equatable {
    public var type: String
    public var title: String
    public var statusCode: Int
    public var detail: String
    public var instance: String?
    public var parameter: String?
    /// For 405: the methods the path takes (sent as the `Allow` header, not in the document).
    var allow: String?
    /// For 429: seconds until the client may try again (sent as `Retry-After`).
    var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, type: String, title: String, detail: String, parameter: String? = nil) {
        self.type = type
        self.title = title
        self.statusCode = status.code
        self.detail = detail
        self.parameter = parameter
    }

    enum CodingKeys: String, CodingKey {
        case type, title, statusCode = "status", detail, instance, parameter
    }

    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    // HTTPResponseError
    public var headers: HTTPFields { [:] }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var document = self
        if document.instance == nil { document.instance = request.uri.path }
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if statusCode == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"storey\"" }
        if let allow { headers[.allow] = allow }
        if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONOutput.encoder.encode(document))))
    }
}

extension Problem {
    public static let base = "/api/v1/problems/"

    public static func badParameter(_ name: String, _ detail: String) -> Problem {
        Problem(.badRequest, type: base + "bad-parameter", title: "A parameter is not acceptable", detail: detail, parameter: name)
    }

    public static func notFound(_ what: String, parameter: String? = nil) -> Problem {
        Problem(.notFound, type: base + "not-found", title: "Not found", detail: what, parameter: parameter)
    }

    public static let unauthorized = Problem(
        .unauthorized, type: base + "unauthorized", title: "A valid token is needed",
        detail: "send Authorization: Bearer TOKEN with a token from the configured token list")

    public static func tooManyFailedAttempts(retryAfter seconds: Int) -> Problem {
        var problem = Problem(
            .tooManyRequests, type: base + "too-many-failed-attempts", title: "Too many wrong tokens",
            detail: "this address sent too many wrong tokens; try again in \(seconds) s")
        problem.retryAfter = seconds
        return problem
    }

    public static func forbidden(_ detail: String) -> Problem {
        Problem(.forbidden, type: base + "forbidden", title: "The token does not allow this", detail: detail)
    }

    public static func unavailable(_ detail: String) -> Problem {
        Problem(.serviceUnavailable, type: base + "unavailable", title: "Not available right now", detail: detail)
    }

    public static func internalError(_ detail: String) -> Problem {
        Problem(.internalServerError, type: base + "internal", title: "Storey failed to answer", detail: detail)
    }
}

/// Turns every error on the way out into a problem document, so a client never has to parse two shapes.
///
/// A method a known path does not take gets 405 with `Allow` (`KnownPaths`).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let known: KnownPaths

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                if let methods = known.methods(of: request.uri.path) {
                    var problem = Problem(.methodNotAllowed, type: Problem.base + "method-not-allowed", title: "Method not allowed",
                        detail: "\(request.method) is not accepted at \(request.uri.path); use \(methods.map(\.rawValue).sorted().joined(separator: " or "))")
                    problem.allow = methods.map(\.rawValue).sorted().joined(separator: ", ")
                    throw problem
                }
                throw Problem.notFound("no resource at \(request.uri.path)")
            case .methodNotAllowed:
                throw Problem(.methodNotAllowed, type: Problem.base + "method-not-allowed", title: "Method not allowed",
                    detail: "\(request.method) is not accepted at \(request.uri.path)")
            default:
                throw Problem(error.status, type: Problem.base + "http", title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
            }
        } catch let error as any HTTPResponseError {
            throw Problem(error.status, type: Problem.base + "http", title: error.status.reasonPhrase, detail: "\(error)")
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw Problem.internalError("\(error)")
        }
    }
}

/// The fixed paths the server answers and their methods, so a request with another method gets 405
/// rather than 404. Routes with path parameters are not listed (they answer 404 for other methods).
public final class KnownPaths: Sendable {
    private let paths = Mutex<[String: Set<HTTPRequest.Method>]>([:])

    public init() {}

    /// Declares that `path` (e.g. `/api/v1/topology`) answers `methods`.
    public func declare(_ path: String, _ methods: Set<HTTPRequest.Method>) {
        paths.withLock { $0[path, default: []].formUnion(methods) }
    }

    func methods(of path: String) -> Set<HTTPRequest.Method>? {
        paths.withLock { $0[path] }
    }
}
