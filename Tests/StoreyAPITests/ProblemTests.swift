import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreyAPI
import Testing

/// Every refusal is an RFC 9457 problem document that names what was wrong.
@Suite struct ProblemTests {
    @Test(arguments: [
        ("/api/v1/series", 400, "scope"),
        ("/api/v1/series?scope=floor", 400, "scope"),
        ("/api/v1/series?scope=tenant:nobody", 404, "scope"),
        ("/api/v1/series?scope=tenant:alpha&resolution=weekly", 400, "resolution"),
        ("/api/v1/series?scope=tenant:alpha&figure=happiness", 400, "figure"),
        ("/api/v1/series?scope=tenant:alpha&from=yesterday", 400, "from"),
        ("/api/v1/series?scope=tenant:alpha&from=2026-11-10T03:00:00Z&to=2026-11-10T02:00:00Z", 400, "from"),
        ("/api/v1/series?scope=tenant:alpha&resolution=minute&from=2026-01-01T00:00:00Z&to=2026-11-10T00:00:00Z", 400, "from"),
        ("/api/v1/reports/tenants", 400, "month"),
        ("/api/v1/reports/tenants?month=2026-13", 400, "month"),
        ("/api/v1/reports/tenants?month=2026-11&from=2026-11-01", 400, "month"),
        ("/api/v1/reports/tenants?from=2026-11-01", 400, "to"),
        ("/api/v1/reports/tenants?from=2026-11-30&to=2026-11-01", 400, "to"),
        ("/api/v1/reports/tenants?from=2026-02-30&to=2026-03-01", 400, "from"),
        ("/api/v1/reports/tenants?month=2026-11&format=xml", 400, "format"),
        ("/api/v1/reports/tenants?month=2026-11&tenant=nobody", 404, "tenant"),
        ("/api/v1/reports/buildings?month=2026-11&building=nowhere", 404, "building"),
        ("/api/v1/live?building=nowhere", 404, "building"),
    ])
    func badRequestsGetAProblemNamingTheParameter(uri: String, status: Int, parameter: String) async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: APIFixture.read) { response in
                #expect(response.status.code == status)
                #expect(response.headers[.contentType] == "application/problem+json")
                let problem = try response.json()
                #expect(problem["status"] as? Int == status)
                #expect(problem["parameter"] as? String == parameter)
                #expect((problem["detail"] as? String)?.isEmpty == false)
                #expect(problem["instance"] as? String == String(uri.prefix { $0 != "?" }))
                #expect((problem["type"] as? String)?.hasPrefix("/api/v1/problems/") == true)
            }
        }
    }

    @Test func unknownPathsAndMethodsAreProblemsToo() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/nothing-here", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .notFound)
                let body = try response.json()
                #expect(body["detail"] as? String == "no resource at /api/v1/nothing-here")
            }
            try await client.execute(uri: "/api/v1/events", method: .get, headers: {
                var headers = APIFixture.read
                headers[HTTPField.Name("Last-Event-ID")!] = "yesterday"
                return headers
            }()) { response in
                #expect(response.status == .badRequest)
                let body = try response.json()
                #expect(body["parameter"] as? String == "Last-Event-ID")
            }
        }
    }

    @Test func anotherMethodOnAKnownPathIs405WithAllow() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/topology", method: .delete, headers: APIFixture.admin) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD")
                let body = try response.json()
                #expect(body["status"] as? Int == 405)
            }
            try await client.execute(uri: "/healthz", method: .trace) { response in
                #expect(response.status == .methodNotAllowed)
            }
        }
    }

    @Test func headIsAnsweredLikeGetWithoutABody() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            for path in ["/api/v1/topology", "/api/v1/live", "/", "/healthz", "/api/v1/openapi.yaml", "/api/v1/reports/tenants?month=2026-11"] {
                let get = try await client.execute(uri: path, method: .get, headers: APIFixture.read)
                try await client.execute(uri: path, method: .head, headers: APIFixture.read) { response in
                    #expect(response.status == .ok, "HEAD \(path)")
                    #expect(response.headers[.contentType] == get.headers[.contentType], "HEAD \(path)")
                    #expect(response.body.readableBytes == 0, "HEAD \(path)")
                }
                #expect(get.body.readableBytes > 0, "GET \(path)")
            }
            // HEAD asks the same access as GET, and a bad parameter is still a problem (its body left off).
            try await client.execute(uri: "/api/v1/topology", method: .head) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/events", method: .head, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
            }
            #expect(fixture.view.events.clientCount == 0)
        }
    }
}
