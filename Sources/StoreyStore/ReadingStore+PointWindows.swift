import Foundation
import GRDB
import StoreyCore

/// A point's day and month figures, made from its hour rows on request. Intake stores none: with a meter
/// per space and quantity each reading wrote a row of its own to its point's day and month as well as its
/// hour, and those two rows were a fifth of a drain's time over 100,000 points (benchmarks/README.md,
/// "A point's day and month rows"). Every column of a figure merges by addition or maximum, and a
/// building's hours fall whole into its days and months, so a day is exactly the merge of its hours.
extension ReadingStore {
    /// The day or month figures of one point, or of every point (`id` nil), with `from ≤ window_start < to`
    /// (Unix seconds): the hour rows from `from` to the end of the last window starting before `to`,
    /// merged by the point's building's local day or month.
    func pointWindowFigures(
        id: String?, resolution: Resolution, quantity: Quantity?, from: Int64, to: Int64
    ) throws -> [StoredFigure] {
        try writer.read { db in
            Self.merging([], try unfoldedWindows(db, resolution: resolution, kinds: [.point], id: id, quantity: quantity, from: from, to: to))
        }
    }
}
