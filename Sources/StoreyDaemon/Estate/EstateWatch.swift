import Foundation
import Logging
import ServiceLifecycle

/// An estate instance's housekeeping, four times a second: its shard intakes' MQTT status into the
/// metrics and the systemd watchdog ping, withheld while a shard's store write is stuck.
struct EstateWatch: Service, CustomStringConvertible {
    var description: String { "EstateWatch" }
    let shards: ShardIntakes
    let metrics: StoreyMetrics
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        var watchdog = WatchdogTicker(notifier: notifier, logger: logger)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            metrics.recordMQTT(shards.statuses)
            watchdog.tick { shards.isMakingProgress(within: $0) }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
