import Foundation
import Logging
import StoreyIntake

/// The housekeeping loop's share of the watchdog protocol: a ping once per watchdog interval, withheld
/// while storage makes no progress (a store write stuck for two intervals), since a restart is then the
/// better outcome. Also trims the heap once, a few seconds after start.
struct WatchdogTicker {
    let notifier: SystemdNotifier
    let logger: Logger
    private let started = ContinuousClock.now
    private var lastPing = ContinuousClock.now - .seconds(3600)
    private var trimmedAfterStart = false

    init(notifier: SystemdNotifier, logger: Logger) {
        self.notifier = notifier
        self.logger = logger
    }

    /// How long a store write may run before it counts as stuck.
    var progressLimit: Duration { notifier.watchdogInterval.map { $0 * 2 } ?? .seconds(60) }

    mutating func tick(makingProgress: (Duration) -> Bool) {
        if let interval = notifier.watchdogInterval, ContinuousClock.now - lastPing >= interval {
            if makingProgress(progressLimit) {
                notifier.watchdog()
                lastPing = .now
            } else {
                logger.warning("intake made no progress for a watchdog period (a write to the database or the intake journal is stuck); not pinging the watchdog")
            }
        }
        if !trimmedAfterStart && ContinuousClock.now - started >= .seconds(5) {
            // Start-up garbage (the YAML tree, point registration) is gone by now: measured with
            // 100,000 points, 171 MB resident before, 122 MB after.
            trimmedAfterStart = true
            releaseFreedMemory()
        }
    }
}

extension StoreyMetrics {
    /// The MQTT intakes' status (one, or a shard's each): counts summed, connected while every one is
    /// subscribed, the newest message's age.
    func recordMQTT(_ statuses: [MQTTStatus]) {
        mqttConnected.set(statuses.allSatisfy { $0.state == .subscribed } ? 1.0 : 0.0)
        mqttConnects.set(Double(statuses.reduce(0) { $0 + $1.connects }))
        mqttReconnects.set(Double(statuses.reduce(0) { $0 + $1.reconnects }))
        mqttBufferedMessages.set(Double(statuses.reduce(0) { $0 + $1.bufferedMessages }))
        mqttSecondsSinceLastMessage.set(statuses.compactMap(\.lastMessageAt).max().map { Date().timeIntervalSince($0) } ?? -1)
    }
}
