import Dispatch

/// Runs work that blocks — SQLite reads, which may also wait for a free reader connection — and the JSON
/// encoding of a large answer on threads of their own, not on the few threads Swift's tasks share (as many
/// as cores). There a read of 20 ms would stall the event stream's writers and every other request for as
/// long; here it only takes its share of the CPU.
enum BlockingWork {
    private static let queue = DispatchQueue(label: "storey.operator-view.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result(catching: work)) }
        }
    }
}
