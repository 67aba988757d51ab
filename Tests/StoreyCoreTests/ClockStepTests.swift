import StoreyCore
import Testing

/// The host's clock stepping forward and back, as `SteadyTime` and the reading binder see it.
@Suite struct ClockStepTests {
    let start: Int64 = 1_800_000_000_000

    @Test func timePassingOnBothClocksIsNoStep() {
        var clock = SteadyTime()
        #expect(clock.read(wall: start, monotonic: 0) == SteadyTime.Sample(time: start, forwardStep: nil, behind: 0))
        // Drift and slewing within the tolerance: followed, not a step.
        #expect(clock.read(wall: start + 60_000 + 2_000, monotonic: 60_000) == SteadyTime.Sample(time: start + 62_000, forwardStep: nil, behind: 0))
        #expect(clock.read(wall: start + 121_000, monotonic: 120_000).forwardStep == nil)
    }

    @Test func aForwardStepIsFollowedAndReportedOnce() {
        var clock = SteadyTime()
        _ = clock.read(wall: start, monotonic: 0)
        let stepped = clock.read(wall: start + 3 * 3_600_000 + 1_000, monotonic: 1_000)
        #expect(stepped.time == start + 3 * 3_600_000 + 1_000)
        #expect(stepped.forwardStep == Int64(3 * 3_600_000))
        #expect(clock.read(wall: start + 3 * 3_600_000 + 2_000, monotonic: 2_000).forwardStep == nil)
    }

    @Test func aBackwardStepNeverTakesTimeBackAndIsCaughtUpAfterTwiceTheStep() {
        var clock = SteadyTime()
        _ = clock.read(wall: start, monotonic: 0)
        // Ten minutes back.
        let right = clock.read(wall: start - 600_000, monotonic: 0)
        #expect(right.time == start)
        #expect(right.behind == 600_000)
        var last = right.time
        var caughtUpAt: Int64?
        for second in 1...1500 {
            let monotonic = Int64(second) * 1000
            let reading = clock.read(wall: start - 600_000 + monotonic, monotonic: monotonic)
            #expect(reading.time >= last)
            #expect(reading.forwardStep == nil)
            last = reading.time
            if reading.behind == 0 && caughtUpAt == nil { caughtUpAt = monotonic }
        }
        // Half speed meanwhile, so timers run late by at most the step; then the host's clock again.
        #expect(caughtUpAt.map { (1_190_000...1_200_000).contains($0) } == true, "caught up after \(String(describing: caughtUpAt)) ms")
        #expect(last == start - 600_000 + 1_500_000)
    }

    @Test func aReadingValidBeforeTheHostsClockSteppedBackIsStillAccepted() {
        let topology = TestTopology.make()
        let binder = ReadingBinder()
        var clock = SteadyTime()
        _ = clock.read(wall: start, monotonic: 0)
        // The host's clock steps back ten minutes; a device with the right time sends a reading 3 minutes later.
        let wall = start - 600_000 + 180_000
        let latest = clock.read(wall: wall, monotonic: 180_000).time
        func bind(_ timestamp: Int64, latest: Int64?) -> [RejectionReason] {
            var readings: [Reading] = []
            var rejections: [RejectionReason] = []
            var scratch: [DecodedValue] = []
            var receipts = ReceiptTimes()
            Array("{\"value\": 1, \"ts\": \(Double(timestamp) / 1000)}".utf8).withUnsafeBytes { raw in
                binder.bind(
                    topic: "storey/tower/1/s1/s1-kw", payload: raw, now: wall, latest: latest, topology: topology, scratch: &scratch,
                    readings: &readings, rejections: &rejections, receipts: &receipts)
            }
            return rejections
        }
        let deviceTime = start + 180_000
        #expect(bind(deviceTime, latest: nil) == [.futureTimestamp], "without the clock's latest time the reading looks 10 minutes ahead")
        #expect(bind(deviceTime, latest: latest).isEmpty)
        // Far in the future is still refused.
        #expect(bind(start + 3_600_000, latest: latest) == [.futureTimestamp])
    }
}
