import Foundation
import StoreyCore
import StoreyStore

extension Housekeeping {
    /// Alert transitions past `alerting.history_retention` go, hourly with the raw readings: off the
    /// shared task threads and in chunks (`AlertStore.pruneHistory`), so ticks and intake barely wait.
    func pruneAlertHistory() async {
        let cutoff = Int64((Date().timeIntervalSince1970 - alertHistoryRetention) * 1000)
        do {
            let removed = try await BlockingWork.shared.run { [store] in try AlertStore(store).pruneHistory(before: cutoff) }
            if removed > 0 { logger.info("pruned alert history past retention", metadata: ["transitions": "\(removed)"]) }
        } catch {
            logger.error("cannot prune alert history; trying again in an hour", metadata: ["error": "\(error)"])
        }
    }
}
