@testable import StoreyConfig
import Testing

@Suite struct YAMLDocumentTests {
    /// A node holds its document; were the document to hold its root as a node, every document would leak
    /// (scripts/fuzz's LeakSanitizer found that on the first run of the reader).
    @Test func aDocumentIsFreedOnceItsNodesAreGone() throws {
        weak var released: YAMLDocument?
        do {
            let document = try YAMLDocument(parsing: "a: &x [1, 'two', {b: c}]\nd: *x\n")
            released = document
            let root = try #require(document.root)
            #expect(root.pairs?.map { $0.key.string } == ["a", "d"])
            #expect(root["d"]?.elements?.map(\.kind) == [.plainScalar, .quotedScalar, .mapping])
            #expect(root["a"]?.elements?.first?.int == 1 && root["a"]?.elements?[1].int == nil)
        }
        #expect(released == nil)
    }
}
