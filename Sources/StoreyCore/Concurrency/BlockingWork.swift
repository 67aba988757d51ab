import Dispatch

/// Runs work that blocks — SQLite reads and commits, which may also wait for the disk or a free reader
/// connection, and the JSON encoding of a large answer — on threads of its own, not on the few threads
/// Swift's tasks share (as many as cores). There a commit stalled for a second behind the disk would stall
/// HTTP, the event stream, rule evaluation and delivery for as long; here it only takes its share of the CPU.
public struct BlockingWork: Sendable {
    /// For independent work of the operator's view: reads run side by side.
    public static let shared = BlockingWork(label: "storey.blocking", concurrent: true)

    private let queue: DispatchQueue

    /// A serial one keeps its work in order on one thread at a time (a store's single writer).
    public init(label: String, concurrent: Bool = false) {
        queue = DispatchQueue(label: label, attributes: concurrent ? .concurrent : [])
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result(catching: work)) }
        }
    }
}
