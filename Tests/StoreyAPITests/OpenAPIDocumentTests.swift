import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreyAPI
import StoreyCore
import Testing
import Yams

/// The OpenAPI document against what the access check answers. (The running daemon's answers are held to
/// the document by schemathesis in OperatorViewTests; a lockout is something schemathesis never reaches.)
@Suite struct OpenAPIDocumentTests {
    static var document: [String: Any] {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/StoreyAPI/Resources/openapi.yaml")
        let text = try! String(contentsOf: file, encoding: .utf8)
        return try! Yams.load(yaml: text) as! [String: Any]
    }

    /// Every operation that may need a token, as (method, path, responses): all but those with `security: []`.
    static var securedOperations: [(method: String, path: String, responses: [String: Any])] {
        let paths = document["paths"] as! [String: [String: Any]]
        return paths.flatMap { path, operations in
            operations.compactMap { method, value -> (String, String, [String: Any])? in
                guard let operation = value as? [String: Any] else { return nil }
                if let security = operation["security"] as? [Any], security.isEmpty { return nil }
                return (method, path, operation["responses"] as? [String: Any] ?? [:])
            }
        }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
    }

    @Test func everyOperationThatTakesATokenDocuments401And429() {
        let operations = Self.securedOperations
        #expect(operations.count >= 16)
        for (method, path, responses) in operations {
            #expect(responses["401"] != nil, "\(method) \(path) does not document 401")
            let tooMany = responses["429"] as? [String: Any]
            #expect(tooMany?["$ref"] as? String == "#/components/responses/TooManyFailedAttempts", "\(method) \(path) does not document 429")
        }
    }

    @Test func the429ResponseIsAProblemDocumentWithRetryAfter() throws {
        let components = try #require(Self.document["components"] as? [String: Any])
        let response = try #require((components["responses"] as? [String: Any])?["TooManyFailedAttempts"] as? [String: Any])
        let retryAfter = try #require((response["headers"] as? [String: Any])?["Retry-After"] as? [String: Any])
        #expect(retryAfter["required"] as? Bool == true)
        #expect((retryAfter["schema"] as? [String: Any])?["type"] as? String == "integer")
        let content = try #require(response["content"] as? [String: Any])
        let problem = try #require(content["application/problem+json"] as? [String: Any])
        #expect((problem["schema"] as? [String: Any])?["$ref"] as? String == "#/components/schemas/Problem")
    }

    /// The series scope's pattern takes every kind of id the topology has: a floor's is BUILDING/LEVEL.
    @Test func theSeriesScopePatternAcceptsEveryScopeOfTheDemoTower() throws {
        let paths = try #require(Self.document["paths"] as? [String: [String: Any]])
        let parameters = try #require((paths["/api/v1/series"]?["get"] as? [String: Any])?["parameters"] as? [[String: Any]])
        let pattern = try #require((parameters.first { $0["name"] as? String == "scope" }?["schema"] as? [String: Any])?["pattern"] as? String)
        let expression = try NSRegularExpression(pattern: pattern)
        func matches(_ text: String) -> Bool {
            expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
        let topology = APIFixture.topology()
        let scopes = topology.floors.map { "floor:\($0.id)" } + topology.spaces.map { "space:\($0.id)" } + topology.tenants.map { "tenant:\($0.id)" }
            + topology.points.map { "point:\($0.id)" } + topology.buildings.map { "building:\($0.id)" } + ["floor:tower-a/12"]
        for scope in scopes { #expect(matches(scope), "\(scope) does not match \(pattern)") }
        #expect(!matches("room:s1"))
    }

    /// Once locked out, every documented operation of the API answers 429 with Retry-After, as documented.
    @Test func aLockedOutClientGets429FromEveryDocumentedOperation() async throws {
        let fixture = try APIFixture(failedTokenLimit: 2)
        let router = Router(context: OperatorRequestContext.self)
        fixture.view.addMiddleware(to: router)
        fixture.view.addRoutes(to: router)
        let operations = Self.securedOperations.filter { $0.path.hasPrefix("/api/v1/") }.map { (method: $0.method, path: $0.path) }
        try await Application(router: router).test(.live) { client in
            for guess in 1...2 {
                try await client.execute(uri: "/api/v1/live", method: .get, headers: [.authorization: "Bearer guess-\(guess)-0123456789"]) { _ in }
            }
            for (method, path) in operations {
                let uri = path.replacingOccurrences(of: "{fingerprint}", with: "0123456789abcdef").replacingOccurrences(of: "{id}", with: "1")
                try await client.execute(uri: uri, method: HTTPRequest.Method(method.uppercased())!, headers: APIFixture.admin) { response in
                    #expect(response.status == .tooManyRequests, "\(method) \(path)")
                    #expect(response.headers[.retryAfter].flatMap { Int($0) }.map { $0 >= 1 } == true, "\(method) \(path)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                }
            }
        }
    }
}
