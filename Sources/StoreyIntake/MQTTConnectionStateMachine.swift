/// The lifecycle of one intake connection, as a value: events in, actions out.
///
/// The network loop performs the actions; this type decides them, so every transition is testable
/// without sockets (see `MQTTConnectionStateMachineTests`).
struct MQTTConnectionStateMachine {
    enum State: Equatable {
        case idle
        /// TCP/TLS connect issued, CONNACK not yet received.
        case connecting
        /// CONNACK accepted; `pending` SUBACKs outstanding.
        case connected(pendingSubscriptions: Int)
        case subscribed
        case waitingToReconnect
        case stopped
    }

    enum Action: Equatable {
        case connect
        case subscribeAll
        case scheduleReconnect(after: Duration)
        case disconnect
        case none
    }

    private(set) var state: State = .idle
    private(set) var backoff: MQTTReconnectBackoff
    /// Accepted CONNACKs so far.
    private(set) var connects = 0
    let subscriptionCount: Int

    init(backoff: MQTTBackoff, subscriptionCount: Int) {
        self.backoff = MQTTReconnectBackoff(policy: backoff)
        self.subscriptionCount = subscriptionCount
    }

    mutating func start() -> Action {
        guard state == .idle else { return .none }
        state = .connecting
        return .connect
    }

    /// The connect call itself failed (refused, unreachable, TLS set-up).
    mutating func connectAttemptFailed<R: RandomNumberGenerator>(random: inout R) -> Action {
        guard state == .connecting else { return .none }
        return scheduleReconnect(random: &random)
    }

    mutating func connAckReceived(accepted: Bool) -> Action {
        guard state == .connecting, accepted else { return .none }
        // A refused CONNACK is followed by the connection closing, handled by `connectionLost`.
        connects += 1
        backoff.reset()
        if subscriptionCount == 0 {
            state = .subscribed
            return .none
        }
        state = .connected(pendingSubscriptions: subscriptionCount)
        return .subscribeAll
    }

    /// Returns true when this acknowledgement completed the subscriptions of the current connection.
    mutating func subAckReceived() -> Bool {
        guard case .connected(let pending) = state else { return false }
        if pending <= 1 {
            state = .subscribed
            return true
        }
        state = .connected(pendingSubscriptions: pending - 1)
        return false
    }

    mutating func connectionLost<R: RandomNumberGenerator>(random: inout R) -> Action {
        switch state {
        case .connecting, .connected, .subscribed:
            return scheduleReconnect(random: &random)
        case .idle, .waitingToReconnect, .stopped:
            return .none
        }
    }

    mutating func reconnectDue() -> Action {
        guard state == .waitingToReconnect else { return .none }
        state = .connecting
        return .connect
    }

    mutating func stop() -> Action {
        let wasOnline: Bool
        switch state {
        case .connecting, .connected, .subscribed: wasOnline = true
        case .idle, .waitingToReconnect, .stopped: wasOnline = false
        }
        state = .stopped
        return wasOnline ? .disconnect : .none
    }

    private mutating func scheduleReconnect<R: RandomNumberGenerator>(random: inout R) -> Action {
        state = .waitingToReconnect
        return .scheduleReconnect(after: backoff.nextDelay(using: &random))
    }
}
