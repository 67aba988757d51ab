import Dispatch
import Synchronization

/// Runs `work` on Swift's shared threads and waits on the calling thread for its result: how synchronous
/// callers (the underuse monitor's thread, the operator view's `BlockingWork`) ask PostgreSQL, whose
/// client answers asynchronously. Never call it from a task on the shared threads: there the wait would
/// hold a thread the answer may need.
func waitHere<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let answered = DispatchSemaphore(value: 0)
    let result = Mutex<Result<T, any Error>?>(nil)
    Task {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
        result.withLock { $0 = outcome }
        answered.signal()
    }
    answered.wait()
    return try result.withLock { $0! }.get()
}
