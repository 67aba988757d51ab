import Hummingbird
import HummingbirdTesting
import StoreyAPI
import Testing

@Suite struct FailedTokenAttemptsTests {
    @Test func theLastAllowedWrongTokenLocksTheAddressOutForTheLockout() {
        var attempts = FailedTokenAttempts(limit: 3, window: 60, lockout: 120)
        let lockedBy = [0.0, 1, 2].map { attempts.recordFailure(client: "10.0.0.1", now: $0) }
        #expect(lockedBy == [false, false, true])
        #expect(attempts.retryAfter(client: "10.0.0.1", now: 2) == 120)
        #expect(attempts.retryAfter(client: "10.0.0.1", now: 100.5) == 22)
        // Other addresses are not affected.
        #expect(attempts.retryAfter(client: "10.0.0.2", now: 3) == nil)
        // After the lockout the address starts afresh.
        #expect(attempts.retryAfter(client: "10.0.0.1", now: 122) == nil)
        let lockedAgain = attempts.recordFailure(client: "10.0.0.1", now: 123)
        #expect(!lockedAgain)
        #expect(attempts.retryAfter(client: "10.0.0.1", now: 123) == nil)
    }

    @Test func wrongTokensSpreadBeyondTheWindowDoNotAddUp() {
        var attempts = FailedTokenAttempts(limit: 3, window: 60, lockout: 60)
        // Two a minute, for ten minutes.
        let lockedBy = (0..<20).map { attempts.recordFailure(client: "a", now: Double($0 / 2) * 61 + Double($0 % 2)) }
        #expect(!lockedBy.contains(true))
        #expect(attempts.retryAfter(client: "a", now: 700) == nil)
    }

    @Test func aFloodFromManyAddressesKeepsTheTableBounded() {
        var attempts = FailedTokenAttempts(limit: 2, window: 60, lockout: 60, maximumClients: 100)
        attempts.recordFailure(client: "locked", now: 0)
        attempts.recordFailure(client: "locked", now: 0)
        for index in 0..<10_000 {
            attempts.recordFailure(client: "10.1.\(index / 256).\(index % 256)", now: Double(index) / 1000)
            #expect(attempts.trackedClients <= 100)
        }
        #expect(attempts.trackedClients <= 100)
        // The flood did not free the address that was locked out.
        #expect(attempts.retryAfter(client: "locked", now: 10) == 50)
    }

    @Test func theAPIAnswers429WithRetryAfterOnceAnAddressSentTooManyWrongTokens() async throws {
        let fixture = try APIFixture(failedTokenLimit: 3)
        let router = Router(context: OperatorRequestContext.self)
        fixture.view.addMiddleware(to: router)
        fixture.view.addRoutes(to: router)
        // Live: a real TCP connection, so the limit is kept by the client's real address.
        try await Application(router: router).test(.live) { client in
            try await client.execute(uri: "/api/v1/topology", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
            }
            for guess in 1...3 {
                try await client.execute(uri: "/api/v1/topology", method: .get, headers: [.authorization: "Bearer guess-\(guess)-0123456789"]) { response in
                    #expect(response.status == .unauthorized)
                }
            }
            // Locked out: even the right token is not looked at now.
            try await client.execute(uri: "/api/v1/topology", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .tooManyRequests)
                let seconds = try #require(response.headers[.retryAfter].flatMap { Int($0) })
                #expect((1...60).contains(seconds))
                #expect(response.headers[.contentType] == "application/problem+json")
                let problem = try response.json()
                #expect(problem["type"] as? String == "/api/v1/problems/too-many-failed-attempts")
                #expect(problem["status"] as? Int == 429)
            }
            // No token at all is not an attempt: still the plain 401 that tells a client to send one.
            try await client.execute(uri: "/api/v1/topology", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }
}
