import StoreyStore
import Testing

@testable import StoreyDelivery

@Suite struct OutcomeBatchTests {
    func delivered(_ id: Int64) -> PendingOutcome {
        PendingOutcome(outcome: .delivered(message: id, attempts: 1, at: 0), report: .delivered(receiver: "hook", seconds: 0.01))
    }

    @Test func anEmptyBatchIsNeverDue() {
        let batch = OutcomeBatch(policy: OutcomeBatchPolicy(size: 4, within: 0.02))
        #expect(!batch.isDue(now: 1_000_000, sendsInFlight: 0))
        #expect(batch.dueAt == nil)
    }

    @Test func aBatchWaitsForOthersWhileSendsAreUnderWay() {
        var batch = OutcomeBatch(policy: OutcomeBatchPolicy(size: 4, within: 0.02))
        batch.add(delivered(1), now: 1000)
        batch.add(delivered(2), now: 1010)
        #expect(!batch.isDue(now: 1019, sendsInFlight: 3))
        #expect(batch.dueAt == 1020, "the oldest outcome sets the deadline")
        #expect(batch.isDue(now: 1020, sendsInFlight: 3))
    }

    @Test func aFullBatchIsDueAtOnce() {
        var batch = OutcomeBatch(policy: OutcomeBatchPolicy(size: 3, within: 10))
        for id: Int64 in 1...2 { batch.add(delivered(id), now: 1000) }
        #expect(!batch.isDue(now: 1000, sendsInFlight: 8))
        batch.add(delivered(3), now: 1000)
        #expect(batch.isDue(now: 1000, sendsInFlight: 8))
    }

    @Test func withNothingElseUnderWayItIsDueAtOnce() {
        // Waiting could only delay the next message of the same channel: nothing can join the batch.
        var batch = OutcomeBatch(policy: OutcomeBatchPolicy(size: 64, within: 5))
        batch.add(delivered(1), now: 1000)
        #expect(batch.isDue(now: 1000, sendsInFlight: 0))
    }

    @Test func sizeOneCommitsEachOutcomeAlone() {
        var batch = OutcomeBatch(policy: OutcomeBatchPolicy(size: 1, within: 5))
        batch.add(delivered(1), now: 1000)
        #expect(batch.isDue(now: 1000, sendsInFlight: 31))
    }

    @Test func takingEmptiesItInOrder() {
        var batch = OutcomeBatch(policy: OutcomeBatchPolicy())
        batch.add(delivered(1), now: 1000)
        batch.add(PendingOutcome(outcome: .postponed(message: 2, until: 5000)), now: 1001)
        let taken = batch.take()
        #expect(taken.map(\.outcome.message) == [1, 2])
        #expect(batch.outcomes.isEmpty && batch.dueAt == nil)
    }

    @Test func retentionIsDueAtStartAndThenEveryInterval() {
        let retention = RetentionPolicy(delivered: 30 * 86_400, dead: 90 * 86_400, interval: 3600)
        #expect(retention.isDue(now: 5, lastRun: nil))
        #expect(!retention.isDue(now: 3_599_999, lastRun: 0))
        #expect(retention.isDue(now: 3_600_000, lastRun: 0))
        let cutoffs = retention.cutoffs(now: 100 * 86_400_000)
        #expect(cutoffs.delivered == 70 * 86_400_000 && cutoffs.dead == 10 * 86_400_000)
    }
}
