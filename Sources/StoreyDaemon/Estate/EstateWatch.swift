import Foundation
import Logging
import ServiceLifecycle
import StoreyIntake

/// An estate instance's housekeeping, four times a second: its shard intakes' MQTT status into the
/// metrics (summed over the held shards; connected while every one is subscribed) and the systemd
/// watchdog ping, withheld while a store write has been stuck for two watchdog periods.
struct EstateWatch: Service, CustomStringConvertible {
    var description: String { "EstateWatch" }
    let shards: ShardIntakes
    let metrics: StoreyMetrics
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        let started = ContinuousClock.now
        var trimmedAfterStart = false
        var lastWatchdog = ContinuousClock.now - .seconds(3600)
        let watchdogLimit = notifier.watchdogInterval.map { $0 * 2 } ?? .seconds(60)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let statuses = shards.statuses
            metrics.mqttConnected.set(statuses.allSatisfy { $0.state == .subscribed } ? 1.0 : 0.0)
            metrics.mqttConnects.set(Double(statuses.reduce(0) { $0 + $1.connects }))
            metrics.mqttReconnects.set(Double(statuses.reduce(0) { $0 + $1.reconnects }))
            metrics.mqttBufferedMessages.set(Double(statuses.reduce(0) { $0 + $1.bufferedMessages }))
            let newest = statuses.compactMap(\.lastMessageAt).max()
            metrics.mqttSecondsSinceLastMessage.set(newest.map { Date().timeIntervalSince($0) } ?? -1)
            if let interval = notifier.watchdogInterval, ContinuousClock.now - lastWatchdog >= interval {
                if shards.isMakingProgress(within: watchdogLimit) {
                    notifier.watchdog()
                    lastWatchdog = .now
                } else {
                    logger.warning("a shard's intake made no progress for a watchdog period; not pinging the watchdog")
                }
            }
            if !trimmedAfterStart && ContinuousClock.now - started >= .seconds(5) {
                trimmedAfterStart = true
                releaseFreedMemory()
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
