/// Which alert transitions, by id, the event stream has yet to show, when several instances commit them.
///
/// Ids come from one sequence but become visible in commit order, not id order: an instance that took id
/// 10 may commit after another committed 11. So a reader that only asked for "ids above the largest seen"
/// would miss 10 for good. The feed keeps the ids above `floor` it has seen, and a missing id holds the
/// floor until it shows up or `patience` has passed (an id whose transaction rolled back never will).
public struct TransitionFeed: Sendable {
    /// Every id at or below it has been shown, or given up on.
    public private(set) var floor: Int64
    /// How long a missing id is waited for (milliseconds).
    public let patience: Int64
    private var seen: Set<Int64> = []
    /// Missing ids → when they were first found missing.
    private var missingSince: [Int64: Int64] = [:]

    public init(floor: Int64, patience: Int64 = 10_000) {
        self.floor = floor
        self.patience = patience
    }

    /// Of `ids` (those above `floor` in the store now), the ones not shown yet, in order; the floor
    /// then moves up past what is seen and what was waited for long enough.
    public mutating func take(_ ids: [Int64], now: Int64) -> [Int64] {
        let fresh = ids.filter { $0 > floor && !seen.contains($0) }.sorted()
        seen.formUnion(fresh)
        for id in fresh { missingSince[id] = nil }
        guard let highest = seen.max() else { return fresh }
        // Every gap below the highest seen id is noted now, so gaps wait out their patience together.
        for id in (floor + 1)..<highest where !seen.contains(id) && missingSince[id] == nil { missingSince[id] = now }
        while floor < highest {
            let next = floor + 1
            if seen.remove(next) == nil {
                guard let since = missingSince[next], now - since >= patience else { break }
            }
            missingSince[next] = nil
            floor = next
        }
        return fresh
    }

    /// How many ids above the floor are waited for (for logs and tests).
    public var waitingFor: Int { missingSince.count }
}
