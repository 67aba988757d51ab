import CCurl
import Testing

@testable import StoreyDelivery

@Suite struct RetryTests {
    @Test func backoffGrowsExponentiallyWithinItsJitterAndCap() {
        let policy = RetryPolicy()
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 0.5) == 1)
        #expect(policy.delay(afterAttempt: 4, retryAfter: nil, random: 0.5) == 8)
        #expect(policy.delay(afterAttempt: 4, retryAfter: nil, random: 0) == 8 * 0.8)
        #expect(policy.delay(afterAttempt: 4, retryAfter: nil, random: 0.999_999) < 8 * 1.2)
        #expect(policy.delay(afterAttempt: 40, retryAfter: nil, random: 0.999) == 300, "never past the maximum")
    }

    @Test func retryAfterIsHonouredAndCapped() {
        let policy = RetryPolicy()
        let outcome = SendOutcome.failed(.http429, "slow down", retryAfter: 7)
        #expect(policy.decide(outcome: outcome, attempts: 1, createdAt: 0, now: 1000, random: 0.5) == .retry(at: 8000))
        #expect(policy.delay(afterAttempt: 1, retryAfter: 86_400, random: 0.5) == 3600)
    }

    @Test func refusalsAndGoneAreDeadAtOnceAndOldMessagesGiveUp() {
        var policy = RetryPolicy()
        policy.giveUpAfter = 60
        #expect(policy.decide(outcome: .rejected(.smtpRefused, "550"), attempts: 1, createdAt: 0, now: 0, random: 0) == .deadLetter(.smtpRefused, "550"))
        #expect(policy.decide(outcome: .gone("410"), attempts: 1, createdAt: 0, now: 0, random: 0) == .deadLetter(.gone, "410"))
        #expect(policy.decide(outcome: .delivered, attempts: 1, createdAt: 0, now: 0, random: 0) == nil)
        let late = policy.decide(outcome: .failed(.connection, "refused"), attempts: 9, createdAt: 0, now: 59_000, random: 0.5)
        guard case .deadLetter(.connection, let why)? = late else {
            Issue.record("expected a dead letter, got \(String(describing: late))")
            return
        }
        #expect(why.contains("gave up after 9 attempts"))
    }

    /// What counts against an endpoint's circuit: the server unreachable, unavailable (421) or refusing
    /// the login; not a reply about one mail or recipient (a full mailbox, greylisting), nor a 5xx refusal.
    @Test func smtpRepliesAboutOneMailDoNotCountAgainstTheServer() {
        let full = SMTPSender.classify(code: CURLE_RECV_ERROR, response: 452, detail: "RCPT failed: 452")
        #expect(full == .failed(.smtpTransient, "SMTP 452: RCPT failed: 452") && !full.isEndpointFailure)
        #expect(!SMTPSender.classify(code: CURLE_RECV_ERROR, response: 550, detail: "").isEndpointFailure)
        let closing = SMTPSender.classify(code: CURLE_RECV_ERROR, response: 421, detail: "service not available")
        #expect(closing.reason == .connection && closing.isEndpointFailure)
        #expect(SMTPSender.classify(code: CURLE_COULDNT_CONNECT, response: 0, detail: "refused").isEndpointFailure)
        #expect(SMTPSender.classify(code: CURLE_LOGIN_DENIED, response: 535, detail: "").isEndpointFailure)
    }

    @Test func circuitOpensAfterARunOfFailuresAndLetsOneTrialThrough() {
        var policy = CircuitBreakerPolicy()
        policy.failureThreshold = 3
        policy.initialOpen = 10
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<2 { breaker.recordFailure(now: 0) }
        #expect(breaker.permission(now: 0) == .send)
        breaker.recordFailure(now: 1000)
        #expect(breaker.permission(now: 5000) == .wait(until: 11_000))
        #expect(breaker.permission(now: 11_000) == .send, "half-open: one trial")
        #expect(breaker.permission(now: 11_001) == .wait(until: 12_001), "no second trial while the first is out")
        breaker.recordFailure(now: 12_000)
        #expect(breaker.permission(now: 20_000) == .wait(until: 32_000), "a failed trial doubles the wait")
        _ = breaker.permission(now: 32_000)
        breaker.recordSuccess()
        #expect(breaker.permission(now: 32_001) == .send)
        #expect(!breaker.isOpen)
    }
}
