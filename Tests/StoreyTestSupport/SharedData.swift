import Foundation

/// The real recordings in `shared/data`, beside the repository's clone (`/work/CLONE` → `/work/shared/data`),
/// for every test target that replays them. Tests that need them are enabled with
/// `.enabled(if: SharedData.isPresent, Comment(rawValue: SharedData.absent))`.
public enum SharedData {
    public static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // StoreyTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the clone
        .appendingPathComponent("../shared/data").standardized

    public static var isPresent: Bool { FileManager.default.fileExists(atPath: folder.appendingPathComponent("README.md").path) }

    /// Why a test that needs the recordings is skipped.
    public static let absent = "needs the real recordings in ../shared/data beside the repository, which is not there"

    /// A recording's path, e.g. `file("cubems/floors-hourly-kw.csv")`.
    public static func file(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Non-blank cells of `columns`, counted by splitting lines at commas: a check independent of the CSV library
    /// (these files have no quoted fields).
    public static func nonBlankCells(_ name: String, columns: [String]) throws -> Int {
        let text = try String(contentsOfFile: file(name), encoding: .utf8)
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = lines[0].map { String($0).replacingOccurrences(of: "\u{FEFF}", with: "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let indices = columns.map { header.firstIndex(of: $0)! }
        return lines.dropFirst().reduce(0) { total, cells in
            total + indices.count { !cells[$0].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        }
    }
}
