@testable import StoreyDaemon
import Testing

/// READY=1 waits on `HTTPListening`: a waiter must go on once the server listens, and must not stay
/// suspended when the daemon stops before its server ever listened (its task is cancelled).
@Suite(.timeLimit(.minutes(1)))
struct HTTPListeningTests {
    @Test func waitersGoOnOnceTheServerListensAndAfterwardsAtOnce() async {
        let listening = HTTPListening()
        let waiter = Task { await listening.wait(); return true }
        try? await Task.sleep(for: .milliseconds(50))
        listening.set()
        #expect(await waiter.value)
        await listening.wait()  // already listening: returns at once
    }

    @Test func aCancelledWaiterGoesOnThoughTheServerNeverListens() async {
        let listening = HTTPListening()
        let waiter = Task { await listening.wait(); return Task.isCancelled }
        try? await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        #expect(await waiter.value)
        // A task cancelled before it waits does not wait either.
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await listening.wait()
            return true
        }
        #expect(await late.value)
    }
}
