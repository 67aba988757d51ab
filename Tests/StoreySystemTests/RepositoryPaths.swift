import Foundation

/// Files of this repository, found from this source file's place in it.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // StoreySystemTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static func file(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }
}
