import ArgumentParser
import Foundation
import StoreyCore
import StoreyReplay

/// A recorded CSV and how its columns map to points: shared by `storey replay` (publishes it) and
/// `storey evaluate` (judges it offline).
struct RecordingOptions: ParsableArguments {
    @Argument(help: "The CSV file (with a header row); or give it with --from.")
    var fileArgument: String?

    @Option(name: .customLong("from"), help: "The CSV file (with a header row), instead of the argument.")
    var fromFile: String?

    /// The recording to read: the argument or `--from`, whichever was given.
    var file: String { fromFile ?? fileArgument ?? "" }

    @Option(name: .customLong("map"), help: "COLUMN=POINT or COLUMN=POINT:sum (repeat for each column).")
    var maps: [String]

    @Option(help: "The column that holds the time (default: the first).")
    var timeColumn: String?

    @Option(help: "Time zone of timestamps written without an offset: +07:00, Asia/Bangkok.")
    var timeZone: String?

    @Option(help: "How many unusable rows and cells to show.")
    var examples: Int = 5

    func validate() throws {
        switch (fileArgument, fromFile) {
        case (nil, nil): throw ValidationError("give the CSV file, as an argument or with --from")
        case (.some(let argument), .some(let from)): throw ValidationError("two CSV files given (\(argument) and --from \(from)): give one")
        default: break
        }
        for map in maps where ReplayMapping(argument: map) == nil {
            throw ValidationError("--map \"\(map)\" is not COLUMN=POINT or COLUMN=POINT:sum")
        }
    }

    /// The time zone given for timestamps without an offset, if any.
    func zone(failure: (String) -> ExitCode) throws -> TimeZone? {
        guard let timeZone else { return nil }
        guard let parsed = RecordedTimestampParser.timeZone(timeZone) else {
            throw failure("--time-zone \"\(timeZone)\" is not an offset (+07:00) or a tz database name (Asia/Bangkok)")
        }
        return parsed
    }

    /// Reads the file and binds each mapped column to its point; every problem is thrown as `failure`.
    func load(_ topology: Topology, config: String, failure: (String) -> ExitCode) throws -> (recording: Recording, points: [Int]) {
        let mappings = maps.compactMap(ReplayMapping.init(argument:))
        var pointIndices: [Int] = []
        for mapping in mappings {
            guard let index = topology.pointByID[mapping.pointID] else {
                throw failure("--map \(mapping.column)=\(mapping.pointID): no point \"\(mapping.pointID)\" in \(config)")
            }
            if mapping.runningTotal && !topology.points[index].quantity.isCounter {
                throw failure("--map \(mapping.column)=\(mapping.pointID):sum: a running total goes to a counter, and \(mapping.pointID) measures \(topology.points[index].quantity.rawValue)")
            }
            pointIndices.append(index)
        }
        do {
            let recording = try Recording(
                file: file, mappings: mappings, timeColumn: timeColumn,
                timestamps: RecordedTimestampParser(timeZone: try zone(failure: failure)))
            return (recording, pointIndices)
        } catch let error as Recording.ReadError {
            throw failure("\(error)")
        }
    }

    /// Rows read, blank cells, and the rows and cells that cannot be used, with the first examples of each.
    func report(_ recording: Recording, readingsAre use: String, to output: (String) -> Void = { print($0) }) {
        output("\(file): \(recording.rowsRead) rows read, \(recording.rows.count) usable, \(recording.readingCount) readings \(use)")
        if recording.blankCells > 0 { output("\(recording.blankCells) blank cells skipped (missing readings)") }
        for (what, entries) in [("rows cannot be used", recording.unusableRows), ("cells are not numbers", recording.unusableCells)] where !entries.isEmpty {
            output("\(entries.count) \(what)\(entries.count > examples ? "; the first \(examples)" : ""):")
            for entry in entries.prefix(examples) { output("  \(entry)") }
        }
    }
}
