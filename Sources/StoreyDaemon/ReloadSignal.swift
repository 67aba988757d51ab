import Logging
import ServiceLifecycle
import StoreyConfig
import UnixSignals

/// What SIGHUP (`systemctl reload`) does in either kind of daemon: the configuration file is read again
/// and, if it loads, handed to `apply`; a file that does not load, or an `apply` that throws, leaves the
/// running configuration in force, and the log and systemd say why. Broker, storage and listen-address
/// settings take effect only at a restart: a reload that changes them says so.
struct ReloadSignal {
    let file: String
    let overrides: ConfigurationOverrides
    let metrics: StoreyMetrics
    let notifier: SystemdNotifier
    let logger: Logger

    /// Handles SIGHUPs until shutdown. `apply` reads everything that can fail before it changes anything.
    func run(from current: Configuration, apply: (Configuration) async throws -> Void) async {
        var running = current
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            notifier.reloading()
            logger.notice("reloading configuration", metadata: ["config": "\(file)"])
            do {
                let next = try ConfigurationLoader.load(file: file, overrides: overrides)
                try await apply(next)
                metrics.points.set(Double(next.topology.points.count))
                metrics.reloads.increment()
                for (setting, changed) in [
                    ("mqtt", next.mqtt != running.mqtt || next.subscriptions != running.subscriptions),
                    ("database", next.databasePath != running.databasePath || next.storage != running.storage),
                    ("http", next.http != running.http || next.httpAccess.tls != running.httpAccess.tls),
                ] where changed {
                    logger.warning("a changed \(setting) setting takes effect at the next restart", metadata: ["setting": "\(setting)"])
                }
                running = next
                logger.notice("configuration reloaded", metadata: ["points": "\(next.topology.points.count)"])
                notifier.ready(status: "Reloaded; \(next.topology.points.count) points")
            } catch let errors as ConfigErrors {
                metrics.reloadFailures.increment()
                for error in errors.errors { logger.error("reload refused: \(error)") }
                logger.error("configuration NOT reloaded; still running the previous one", metadata: ["errors": "\(errors.errors.count)"])
                notifier.ready(status: "Reload refused (\(errors.errors.count) errors); running the previous configuration")
            } catch {
                metrics.reloadFailures.increment()
                logger.error("configuration NOT reloaded; still running the previous one", metadata: ["error": "\(error)"])
                notifier.ready(status: "Reload failed; running the previous configuration")
            }
        }
    }
}
