import Foundation
import Testing

/// The real recordings in `shared/data`, beside the repository's clone (`/work/CLONE` → `/work/shared/data`).
enum SharedData {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../../shared/data").standardized

    static var isPresent: Bool { FileManager.default.fileExists(atPath: folder.appendingPathComponent("README.md").path) }

    static let absent: Comment = "needs the real recordings in ../shared/data beside the repository, which is not there"

    static func file(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Non-blank cells of `columns`, counted by splitting lines at commas: a check independent of the CSV library
    /// (these files have no quoted fields).
    static func nonBlankCells(_ name: String, columns: [String]) throws -> Int {
        let text = try String(contentsOfFile: file(name), encoding: .utf8)
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = lines[0].map { String($0).replacingOccurrences(of: "\u{FEFF}", with: "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let indices = columns.map { header.firstIndex(of: $0)! }
        return lines.dropFirst().reduce(0) { total, cells in
            total + indices.count { !cells[$0].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        }
    }
}
