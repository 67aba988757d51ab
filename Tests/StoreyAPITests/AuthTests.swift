import Hummingbird
import HummingbirdTesting
import StoreyAPI
import Testing

@Suite struct AuthTests {
    @Test func withoutATokenTheAPIAnswers401WithAProblemDocument() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/topology", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"storey\"")
                let problem = try response.json()
                #expect(problem["status"] as? Int == 401)
                #expect(problem["type"] as? String == "/api/v1/problems/unauthorized")
            }
            try await client.execute(uri: "/api/v1/topology", method: .get, headers: [.authorization: "Bearer not-a-token-at-all"]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/topology", method: .get, headers: [.authorization: "Basic cmVhZDpyZWFk"]) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func readAndAdminTokensReadAndOnlyAdminChanges() async throws {
        let fixture = try APIFixture()
        let router = Router()
        fixture.view.addMiddleware(to: router)
        // An admin action as the alert routes will add one.
        router.post("api/v1/example-action") { _, _ in "done" }
        fixture.view.addRoutes(to: router)
        try await Application(router: router).test(.router) { client in
            for headers in [APIFixture.read, APIFixture.admin] {
                try await client.execute(uri: "/api/v1/topology", method: .get, headers: headers) { response in
                    #expect(response.status == .ok)
                }
            }
            try await client.execute(uri: "/api/v1/example-action", method: .post, headers: APIFixture.read) { response in
                #expect(response.status == .forbidden)
                let problem = try response.json()
                #expect((problem["detail"] as? String)?.contains("needs an admin token") == true)
            }
            try await client.execute(uri: "/api/v1/example-action", method: .post, headers: APIFixture.admin) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func healthMetricsDashboardAndOpenAPIAreOpenUnlessHealthIsClosed() async throws {
        let open = try APIFixture(openHealth: true)
        try await open.application().test(.router) { client in
            for path in ["/healthz", "/metrics", "/", "/dashboard.js", "/dashboard.css", "/api/v1/openapi.yaml"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                }
            }
        }
        let closed = try APIFixture(openHealth: false)
        try await closed.application().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
            }
        }
    }

    /// Notifications link to `external_url/alerts/FINGERPRINT`: the dashboard page itself, which opens on
    /// that alert (the browser test follows such a link).
    @Test func anAlertsLinkFromANotificationOpensTheDashboard() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get) { $0.body }
            try await client.execute(uri: "/alerts/3f2a9c0d11e4b7a5", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.body == page)
                #expect(String(buffer: response.body).contains("/dashboard.js"))
            }
        }
    }

    @Test func withoutATokenListTheAPIIsOpen() async throws {
        let fixture = try APIFixture(tokens: false)
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/topology", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func aReloadedTokenListTakesEffectAtOnce() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            fixture.view.apply(topology: APIFixture.topology(), tokens: try TokenTable.parse("read another-token-0123456789"), openHealth: true)
            try await client.execute(uri: "/api/v1/topology", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/topology", method: .get, headers: [.authorization: "Bearer another-token-0123456789"]) { response in
                #expect(response.status == .ok)
            }
        }
    }
}
