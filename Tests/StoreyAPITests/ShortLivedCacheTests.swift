import Foundation
@testable import StoreyAPI
import Synchronization
import Testing

/// The answers the operator's view shares between requests: how old a figure a dashboard may be shown,
/// and that no request waits for a recomputation while a recent answer exists.
@Suite struct ShortLivedCacheTests {
    final class Counter: Sendable {
        let made = Mutex(0)
        /// Makes "answer N", slowly when asked to (a recomputation under full intake).
        func make(delay: Duration = .zero) -> @Sendable () throws -> Data {
            { [self] in
                if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18) }
                let n = made.withLock { $0 += 1; return $0 }
                return Data("answer \(n)".utf8)
            }
        }
    }

    func text(_ answer: SharedAnswer) -> String { String(decoding: answer.body, as: UTF8.self) }

    @Test func anAnswerIsSharedWhileFreshThenServedStaleWhileOneRefreshRuns() async throws {
        let cache = ShortLivedCache()
        let counter = Counter()
        let age = Duration.milliseconds(200), stale = Duration.seconds(30)
        #expect(text(try cache.value(for: "k", maximumAge: age, servingStaleFor: stale, make: counter.make())) == "answer 1")
        #expect(text(try cache.value(for: "k", maximumAge: age, servingStaleFor: stale, make: counter.make())) == "answer 1")
        #expect(counter.made.withLock { $0 } == 1)

        // Past its age: the old answer at once, for every request, while a single slow refresh runs.
        try await Task.sleep(for: .milliseconds(250))
        let started = ContinuousClock.now
        for _ in 0..<20 {
            #expect(text(try cache.value(for: "k", maximumAge: age, servingStaleFor: stale, make: counter.make(delay: .seconds(3)))) == "answer 1")
        }
        // The refresh takes 3 s; twenty answers well within it show none waited for it (the margin is for a
        // loaded CI machine).
        #expect(ContinuousClock.now - started < .milliseconds(2_500), "a request waited for the refresh")
        // Then the refreshed one, made once.
        let deadline = ContinuousClock.now + .seconds(15)
        while counter.made.withLock({ $0 }) < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(20))
        #expect(text(try cache.value(for: "k", maximumAge: age, servingStaleFor: stale, make: counter.make())) == "answer 2")
        #expect(counter.made.withLock { $0 } == 2)
    }

    @Test func anAnswerTooOldIsRecomputedBeforeAnsweringAndKeysAreSeparate() async throws {
        let cache = ShortLivedCache()
        let counter = Counter()
        _ = try cache.value(for: "a", maximumAge: .milliseconds(50), servingStaleFor: .milliseconds(50), make: counter.make())
        #expect(text(try cache.value(for: "b", maximumAge: .milliseconds(50), make: counter.make())) == "answer 2")
        try await Task.sleep(for: .milliseconds(150))
        // Beyond its age and the stale allowance: never shown, made anew in this request.
        #expect(text(try cache.value(for: "a", maximumAge: .milliseconds(50), servingStaleFor: .milliseconds(50), make: counter.make())) == "answer 3")
        // Without a stale allowance, past its age is recomputed at once too.
        #expect(text(try cache.value(for: "b", maximumAge: .milliseconds(50), make: counter.make())) == "answer 4")
    }
}
