import Foundation
import Logging
import ServiceLifecycle
import StoreyPostgres

/// An estate instance's hourly pruning (`EstatePruning`): raw readings past `raw_retention_days` and alert
/// history past `alerting.history_retention`, one instance at a time, as a single storeyd's housekeeping
/// does for its file.
struct EstateHousekeeping: Service, CustomStringConvertible {
    var description: String { "EstateHousekeeping" }
    let pruning: EstatePruning
    let retentionDays: Double
    /// Seconds.
    let historyRetention: Double
    let now: @Sendable () -> Int64
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await prune()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
        }
    }

    private func prune() async {
        let time = now()
        do {
            guard let counts = try await pruning.pruneOnce(
                readingsBefore: time - Int64(retentionDays * 86_400_000), historyBefore: time - Int64(historyRetention * 1000))
            else {
                logger.debug("another instance is pruning the estate's database; skipped this hour")
                return
            }
            if counts.readings > 0 || counts.transitions > 0 {
                logger.info("pruned past retention", metadata: ["readings": "\(counts.readings)", "transitions": "\(counts.transitions)"])
            }
        } catch {
            logger.error("cannot prune the estate's database; trying again in an hour", metadata: ["error": "\(error)"])
        }
    }
}
