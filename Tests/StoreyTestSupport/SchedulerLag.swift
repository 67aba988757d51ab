import Synchronization

/// How late Swift's shared threads ran a task that asked to wake every 10 ms. A test that fails on time
/// can then say whether its whole process was starved (a blocking wait elsewhere holding those threads)
/// rather than the code under test being slow.
public final class SchedulerLag: Sendable {
    private struct Record {
        var worst: Duration = .zero
        var worstAt: ContinuousClock.Instant?
        /// Time spent late by more than 100 ms, summed.
        var starved: Duration = .zero
    }

    private final class Box: Sendable {
        let record = Mutex(Record())
    }

    private let box = Box()
    private let probe = Mutex<Task<Void, Never>?>(nil)
    private let started = ContinuousClock.now

    public init() {
        let task = Task { [box] in
            while !Task.isCancelled {
                let asked = ContinuousClock.now + .milliseconds(10)
                try? await Task.sleep(until: asked, clock: .continuous)
                let late = ContinuousClock.now - asked
                box.record.withLock { record in
                    if late > record.worst { (record.worst, record.worstAt) = (late, asked) }
                    if late > .milliseconds(100) { record.starved += late }
                }
            }
        }
        probe.withLock { $0 = task }
    }

    deinit {
        probe.withLock { $0?.cancel() }
    }

    /// "late by up to … ms (… s into the test), … s in all late by over 100 ms".
    public var summary: String {
        let now = ContinuousClock.now
        return box.record.withLock { record in
            let at = record.worstAt.map { " (\(($0 - started).milliseconds / 1000) s in, \((now - $0).milliseconds / 1000) s ago)" } ?? ""
            return "shared threads late by up to \(record.worst.milliseconds) ms\(at); \(record.starved.milliseconds) ms in all late by over 100 ms"
        }
    }
}

extension Duration {
    /// Whole milliseconds, for messages.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
