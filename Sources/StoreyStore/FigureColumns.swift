import GRDB
import StoreyCore

/// Where a statement's figure columns are, found once per statement, so each row is read by position.
/// GRDB's lookup by name lower-cases every name it compares, for every column of every row: reading a
/// 100,000-point tower's live windows spent a tenth of its time there (benchmarks/README.md).
/// A name that appears twice (`q.name AS quantity` beside `f.*`'s `quantity` code) is found first where
/// it first appears, as GRDB's lookup by name finds it.
struct FigureColumns {
    private let amount, sampleSum, sampleCount, sampleMax, levelSum, levelMinutes, levelPeak, readings: Int
    /// Absent from statements that read values only (`figure_row` with its codes).
    private let scopeKind, scopeID, quantity, resolution, windowStart: Int?

    init(_ statement: Statement) throws {
        var positions: [String: Int] = [:]
        for (index, name) in statement.columnNames.enumerated() where positions[name.lowercased()] == nil {
            positions[name.lowercased()] = index
        }
        func required(_ name: String) throws -> Int {
            guard let index = positions[name] else {
                throw DatabaseError(message: "figure column \(name) missing from: \(statement.sql)")
            }
            return index
        }
        amount = try required("amount")
        sampleSum = try required("sample_sum")
        sampleCount = try required("sample_count")
        sampleMax = try required("sample_max")
        levelSum = try required("level_sum")
        levelMinutes = try required("level_minutes")
        levelPeak = try required("level_peak")
        readings = try required("readings")
        scopeKind = positions["scope_kind"]
        scopeID = positions["scope_id"]
        quantity = positions["quantity"]
        resolution = positions["resolution"]
        windowStart = positions["window_start"]
    }

    func values(_ row: Row) -> FigureValues {
        FigureValues(
            amount: row[amount], sampleSum: row[sampleSum], sampleCount: row[sampleCount], sampleMax: row[sampleMax] ?? -.infinity,
            levelSum: row[levelSum], levelMinutes: row[levelMinutes], levelPeak: row[levelPeak] ?? -.infinity, readings: row[readings])
    }

    /// The window start (Unix seconds) of a statement that reads it.
    func windowStart(_ row: Row) -> Int64 { row[windowStart!] }

    /// The quantity's code, of a statement that reads `figure_row`'s codes.
    func quantityCode(_ row: Row) -> Int { row[quantity!] }

    /// A whole figure, from a statement with its scope, quantity and resolution by name (the `figure` view).
    func figure(_ row: Row) -> StoredFigure {
        StoredFigure(
            scopeKind: ScopeKind(rawValue: row[scopeKind!])!, scopeID: row[scopeID!], quantity: Quantity(rawValue: row[quantity!])!,
            resolution: Resolution(rawValue: row[resolution!])!, windowStart: row[windowStart!], values: values(row))
    }

    /// Every row of `sql` as figures.
    static func fetchFigures(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [StoredFigure] {
        let statement = try db.makeStatement(sql: sql)
        let columns = try FigureColumns(statement)
        var figures: [StoredFigure] = []
        let rows = try Row.fetchCursor(statement, arguments: arguments)
        while let row = try rows.next() { figures.append(columns.figure(row)) }
        return figures
    }
}
