import StoreyAPI
import Testing

@Suite struct TokenTableTests {
    @Test func plainTokensAndDigestsBothMatchTheirScope() throws {
        let table = try TokenTable.parse("""
            # operators
            read  read-token-0123456789   dashboard wall
            admin sha256:\(APIFixture.hex("admin-token-0123456789")) night shift

            """)
        #expect(table.entries.count == 2)
        #expect(table.match("read-token-0123456789")?.scope == .read)
        #expect(table.match("read-token-0123456789")?.name == "dashboard wall")
        #expect(table.match("admin-token-0123456789")?.scope == .admin)
        #expect(table.match("admin-token-012345678") == nil)
        #expect(table.match("") == nil)
    }

    @Test func badLinesAreRefusedWithTheirLineNumber() {
        #expect(throws: TokenTable.ParseError(line: 2, message: "\"write\" is not a scope; use read or admin")) {
            try TokenTable.parse("read read-token-0123456789\nwrite read-token-0123456789\n")
        }
        #expect(throws: TokenTable.ParseError(line: 1, message: "a token must be at least 16 characters long")) {
            try TokenTable.parse("read short")
        }
        #expect(throws: TokenTable.ParseError(line: 1, message: "sha256: must be followed by 64 hex digits")) {
            try TokenTable.parse("admin sha256:abcd")
        }
        #expect(throws: TokenTable.ParseError.self) { try TokenTable.parse("admin") }
    }
}
