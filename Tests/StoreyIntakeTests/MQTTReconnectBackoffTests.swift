import StoreyTestSupport
import Testing

@testable import StoreyIntake

/// A random source that always returns the same word: 0 pins the jitter low, .max pins it high.
struct FixedRandom: RandomNumberGenerator {
    var value: UInt64
    mutating func next() -> UInt64 { value }
}


struct MQTTReconnectBackoffTests {
    let policy = MQTTBackoff(initial: .milliseconds(500), maximum: .seconds(30), multiplier: 2)

    @Test func ceilingDoublesFromInitialUntilMaximum() {
        var backoff = MQTTReconnectBackoff(policy: policy)
        var random = FixedRandom(value: 0)
        var ceilings: [Duration] = []
        for _ in 0..<10 {
            ceilings.append(backoff.currentCeiling)
            _ = backoff.nextDelay(using: &random)
        }
        #expect(ceilings == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30), .seconds(30), .seconds(30)])
    }

    @Test func delaysNeverExceedTheMaximumEvenAfterManyFailures() {
        var backoff = MQTTReconnectBackoff(policy: policy)
        var random = FixedRandom(value: .max)
        for _ in 0..<1_000 {
            #expect(backoff.nextDelay(using: &random) <= .seconds(30))
        }
    }

    @Test func fullJitterSpreadsDelaysBetweenZeroAndTheCeiling() {
        var low = FixedRandom(value: 0)
        var high = FixedRandom(value: .max)
        var a = MQTTReconnectBackoff(policy: policy)
        var b = MQTTReconnectBackoff(policy: policy)
        for _ in 0..<3 { _ = a.nextDelay(using: &low); _ = b.nextDelay(using: &high) }
        #expect(a.nextDelay(using: &low) == .zero)
        #expect(b.nextDelay(using: &high) == .seconds(4))

        var seeded = SeededRandom(state: 42)
        var samples: [Duration] = []
        for _ in 0..<500 {
            var backoff = MQTTReconnectBackoff(policy: policy)
            for _ in 0..<4 { _ = backoff.nextDelay(using: &seeded) }  // ceiling is now 8 s
            samples.append(backoff.nextDelay(using: &seeded))
        }
        #expect(samples.allSatisfy { $0 >= .zero && $0 <= .seconds(8) })
        #expect(samples.contains { $0 < .seconds(2) })
        #expect(samples.contains { $0 > .seconds(6) })
    }

    @Test func resetAfterConnectStartsAgainFromInitial() {
        var backoff = MQTTReconnectBackoff(policy: policy)
        var random = FixedRandom(value: .max)
        for _ in 0..<8 { _ = backoff.nextDelay(using: &random) }
        #expect(backoff.currentCeiling == .seconds(30))
        backoff.reset()
        #expect(backoff.currentCeiling == .milliseconds(500))
        #expect(backoff.nextDelay(using: &random) == .milliseconds(500))
    }
}

struct MQTTConnectionStateMachineTests {
    let policy = MQTTBackoff(initial: .seconds(1), maximum: .seconds(8), multiplier: 2)

    @Test func subscribesAfterEveryAcceptedConnectAndReportsSubscribedOnLastSubAck() {
        var machine = MQTTConnectionStateMachine(backoff: policy, subscriptionCount: 2)
        var random = FixedRandom(value: .max)
        #expect(machine.start() == .connect)
        #expect(machine.connAckReceived(accepted: true) == .subscribeAll)
        #expect(machine.subAckReceived() == false)
        #expect(machine.subAckReceived() == true)
        #expect(machine.state == .subscribed)

        #expect(machine.connectionLost(random: &random) == .scheduleReconnect(after: .seconds(1)))
        #expect(machine.reconnectDue() == .connect)
        #expect(machine.connAckReceived(accepted: true) == .subscribeAll)
        #expect(machine.connects == 2)
    }

    @Test func failedAttemptsBackOffAndAnAcceptedConnectResetsTheBackoff() {
        var machine = MQTTConnectionStateMachine(backoff: policy, subscriptionCount: 1)
        var random = FixedRandom(value: .max)
        _ = machine.start()
        var delays: [MQTTConnectionStateMachine.Action] = []
        for _ in 0..<5 {
            delays.append(machine.connectAttemptFailed(random: &random))
            #expect(machine.reconnectDue() == .connect)
        }
        #expect(delays == [1, 2, 4, 8, 8].map { .scheduleReconnect(after: .seconds($0)) })
        #expect(machine.connAckReceived(accepted: true) == .subscribeAll)
        #expect(machine.connectionLost(random: &random) == .scheduleReconnect(after: .seconds(1)))
    }

    @Test func refusedConnAckWaitsForTheLossAndIsRetried() {
        var machine = MQTTConnectionStateMachine(backoff: policy, subscriptionCount: 1)
        var random = FixedRandom(value: 0)
        _ = machine.start()
        #expect(machine.connAckReceived(accepted: false) == .none)
        #expect(machine.connectionLost(random: &random) == .scheduleReconnect(after: .zero))
        #expect(machine.connects == 0)
    }

    @Test func stopDisconnectsOnlyWhenOnlineAndIgnoresLaterLosses() {
        var online = MQTTConnectionStateMachine(backoff: policy, subscriptionCount: 0)
        var random = FixedRandom(value: 0)
        _ = online.start()
        #expect(online.connAckReceived(accepted: true) == .none)
        #expect(online.state == .subscribed)
        #expect(online.stop() == .disconnect)
        #expect(online.connectionLost(random: &random) == .none)

        var waiting = MQTTConnectionStateMachine(backoff: policy, subscriptionCount: 0)
        _ = waiting.start()
        _ = waiting.connectAttemptFailed(random: &random)
        #expect(waiting.stop() == .none)
        #expect(waiting.reconnectDue() == .none)
    }
}
