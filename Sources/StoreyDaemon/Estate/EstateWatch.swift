import Foundation
import Logging
import ServiceLifecycle

/// An estate instance's housekeeping, four times a second: its shard intakes' MQTT status into the
/// metrics, the operator's view's status (connected, storing), and the systemd watchdog ping, withheld
/// while a shard's store write is stuck.
struct EstateWatch: Service, CustomStringConvertible {
    var description: String { "EstateWatch" }
    let shards: ShardIntakes
    let metrics: StoreyMetrics
    let notifier: SystemdNotifier
    let logger: Logger
    /// Told the held shards' state: every one subscribed, none failing to store.
    let status: @Sendable (_ connected: Bool, _ storing: Bool) -> Void

    func run() async throws {
        var watchdog = WatchdogTicker(notifier: notifier, logger: logger)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            metrics.recordMQTT(shards.statuses)
            status(shards.allSubscribed, !shards.isStoreFailing)
            watchdog.tick { shards.isMakingProgress(within: $0) }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
