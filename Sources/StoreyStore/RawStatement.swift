import GRDB
import GRDBSQLite
import StoreyCore

/// One of intake's hot statements, bound and stepped through SQLite's C API.
///
/// GRDB's `StatementArguments` box every value into an existential array per execution; on the intake
/// path (a raw reading and about one figure row per reading) that boxing cost as much as SQLite's own
/// B-tree work (measured with `perf`, benchmarks/README.md). The statement still comes from GRDB's cache
/// and runs inside GRDB's transaction; only the binding is done by hand.
struct RawStatement {
    private let statement: Statement
    private let connection: OpaquePointer?

    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        connection = db.sqliteConnection
    }

    /// Binds parameter `index` (1-based, as in SQLite).
    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(statement.sqliteStatement, index, value) }
    func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(statement.sqliteStatement, index, Int64(value)) }
    /// Binds a double; infinities (an empty maximum) are stored as NULL.
    func bind(_ index: Int32, _ value: Double) {
        if value.isFinite {
            sqlite3_bind_double(statement.sqliteStatement, index, value)
        } else {
            sqlite3_bind_null(statement.sqliteStatement, index)
        }
    }

    /// Runs the statement to completion; returns the rows it changed.
    @discardableResult
    func execute() throws -> Int {
        let handle = statement.sqliteStatement
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw failure(code) }
        return Int(sqlite3_changes(connection))
    }

    /// SQLite's error for a step that ended with `code`, with its message and the statement.
    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
    }

    /// Runs a query and reads its first row with `read` (nil when there is none): the lookups intake makes
    /// of stored history, which through GRDB's `Row` allocated a row and lower-cased its column names on
    /// every call (a drain over 100,000 points makes one for every scope and point it meets first).
    func firstRow<T>(_ read: (RawRow) -> T) throws -> T? {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return read(RawRow(handle: handle))
        case SQLITE_DONE: return nil
        case let code:
            throw failure(code)
        }
    }

    /// Every row of a query, each read with `read`.
    func allRows<T>(_ read: (RawRow) -> T) throws -> [T] {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        var rows: [T] = []
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: rows.append(read(RawRow(handle: handle)))
            case SQLITE_DONE: return rows
            case let code:
                throw failure(code)
            }
        }
    }
}

/// The current row of a `RawStatement`, read by column position (0-based, as in SQLite).
struct RawRow {
    fileprivate let handle: OpaquePointer?

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    /// A double column where NULL stands for an empty maximum (see `RawStatement.bind(_:_: Double)`).
    func maximum(_ column: Int32) -> Double {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? -.infinity : sqlite3_column_double(handle, column)
    }

    /// The figure values of a statement that selects `RawRow.figureColumns` starting at `first`.
    func figureValues(from first: Int32) -> FigureValues {
        FigureValues(
            amount: double(first), sampleSum: double(first + 1), sampleCount: int(first + 2), sampleMax: maximum(first + 3),
            levelSum: double(first + 4), levelMinutes: int(first + 5), levelPeak: maximum(first + 6), readings: int(first + 7))
    }

    /// The columns `figureValues(from:)` reads, in its order.
    static let figureColumns = "amount, sample_sum, sample_count, sample_max, level_sum, level_minutes, level_peak, readings"
}

