import CSV
import Foundation

/// One row of a recording that can be replayed: its time and the values of the mapped columns it has.
public struct RecordedRow: Sendable, Equatable {
    /// Line in the file (1 is the header).
    public var line: Int
    /// Milliseconds since the epoch, as recorded (before any time shift).
    public var time: Int64
    /// (index into the mappings, value) for each mapped cell that holds a number.
    public var values: [(mapping: Int, value: Double)]

    public static func == (lhs: RecordedRow, rhs: RecordedRow) -> Bool {
        lhs.line == rhs.line && lhs.time == rhs.time && lhs.values.elementsEqual(rhs.values) { $0 == $1 }
    }
}

/// A row, or a cell, that cannot be replayed, and why.
public struct UnusableEntry: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String
    public var description: String { "\(file):\(line): \(reason)" }
}

/// A CSV recording read for replay: the header's first column (or `timeColumn`) holds the time, mapped columns
/// hold readings. Byte-order marks, CRLF line ends, blank cells and quoted fields are read as CSV allows.
public struct Recording: Sendable {
    public var file: String
    public var mappings: [ReplayMapping]
    public var rows: [RecordedRow] = []
    /// Rows with nothing to replay: unreadable time, wrong number of fields, or no usable mapped cell.
    public var unusableRows: [UnusableEntry] = []
    /// Mapped cells that hold something other than a number (their row may still be used).
    public var unusableCells: [UnusableEntry] = []
    /// Mapped cells left blank: missing readings, skipped.
    public var blankCells = 0
    /// Rows read after the header.
    public var rowsRead = 0

    /// Readings the recording yields: every mapped cell holding a number in a row with a usable time.
    public var readingCount: Int { rows.reduce(0) { $0 + $1.values.count } }

    public enum ReadError: Error, CustomStringConvertible {
        case cannotOpen(String)
        case noHeader(String)
        case unknownColumns(file: String, columns: [String], header: [String])
        case unreadable(String, String)

        public var description: String {
            switch self {
            case .cannotOpen(let file): "cannot open \(file)"
            case .noHeader(let file): "\(file):1: no header row"
            case .unknownColumns(let file, let columns, let header):
                "\(file):1: no column \(columns.map { "\"\($0)\"" }.joined(separator: ", ")); the header has \(header.map { "\"\($0)\"" }.joined(separator: ", "))"
            case .unreadable(let file, let why): "\(file): cannot be read as CSV: \(why)"
            }
        }
    }

    /// Reads `file` whole. `timeColumn` nil: the first column.
    public init(file: String, mappings: [ReplayMapping], timeColumn: String? = nil, timestamps: RecordedTimestampParser) throws(ReadError) {
        self.file = file
        self.mappings = mappings
        // The whole file, as a stream over memory: on Linux a file stream reports an error at its end.
        guard let data = FileManager.default.contents(atPath: file) else { throw .cannotOpen(file) }
        let stream = InputStream(data: data)
        let reader: CSVReader
        do {
            reader = try CSVReader(stream: stream, hasHeaderRow: true)
        } catch {
            throw .noHeader(file)
        }
        guard let header = reader.headerRow else { throw .noHeader(file) }
        let name = (file as NSString).lastPathComponent
        var columns: [Int] = []
        var missing: [String] = []
        for mapping in mappings {
            if let index = header.firstIndex(of: mapping.column) { columns.append(index) } else { missing.append(mapping.column) }
        }
        let timeIndex = timeColumn.flatMap { header.firstIndex(of: $0) } ?? 0
        if let timeColumn, header.firstIndex(of: timeColumn) == nil { missing.append(timeColumn) }
        guard missing.isEmpty else { throw .unknownColumns(file: file, columns: missing, header: header) }

        var totals = Array(repeating: 0.0, count: mappings.count)
        var line = 1 + header.reduce(0) { $0 + $1.count { $0 == "\n" } }
        while let row = reader.next() {
            line += 1
            rowsRead += 1
            let rowLine = line
            // A quoted field may span lines; count them so later lines are named right.
            line += row.reduce(0) { $0 + $1.count { $0 == "\n" } }
            guard row.count == header.count else {
                if row.count == 1 && row[0].isEmpty {
                    unusableRows.append(UnusableEntry(file: name, line: rowLine, reason: "empty line"))
                } else {
                    unusableRows.append(UnusableEntry(file: name, line: rowLine, reason: "\(row.count) fields, the header has \(header.count)"))
                }
                continue
            }
            let time: Int64
            switch timestamps.milliseconds(row[timeIndex]) {
            case .success(let value): time = value
            case .failure(let failure):
                unusableRows.append(UnusableEntry(file: name, line: rowLine, reason: "time \(failure)"))
                continue
            }
            var values: [(mapping: Int, value: Double)] = []
            var blanks: [String] = []
            for (index, column) in columns.enumerated() {
                let text = row[column].trimmedOfSpaces
                if text.isEmpty {
                    blankCells += 1
                    blanks.append(mappings[index].column)
                    continue
                }
                guard let value = Double(text), value.isFinite else {
                    unusableCells.append(UnusableEntry(file: name, line: rowLine, reason: "\(mappings[index].column): \"\(text)\" is not a number"))
                    continue
                }
                if mappings[index].runningTotal {
                    totals[index] += value
                    values.append((index, totals[index]))
                } else {
                    values.append((index, value))
                }
            }
            if values.isEmpty {
                let why = blanks.count == columns.count ? "every mapped cell is blank (\(blanks.joined(separator: ", ")))" : "no mapped cell holds a number"
                unusableRows.append(UnusableEntry(file: name, line: rowLine, reason: why))
                continue
            }
            rows.append(RecordedRow(line: rowLine, time: time, values: values))
        }
        if let error = reader.error { throw .unreadable(file, "\(error)") }
    }
}
