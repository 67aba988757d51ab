import GRDB
import GRDBSQLite

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
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
        }
        return Int(sqlite3_changes(connection))
    }
}
