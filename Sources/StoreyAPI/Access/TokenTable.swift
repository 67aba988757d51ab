import Crypto
import Foundation

/// What a token may do: `read` everything under `/api/v1`; `admin` also change things (acknowledge,
/// silence, replay).
public enum TokenScope: String, Sendable, Comparable, CaseIterable {
    case read, admin

    public static func < (lhs: TokenScope, rhs: TokenScope) -> Bool { lhs == .read && rhs == .admin }
}

/// The bearer tokens the API accepts, held only as SHA-256 digests.
///
/// The list is one token a line, `SCOPE SECRET [NAME]`, `#` starting a comment. SECRET is either
/// `sha256:` and the hex digest of the token (so the file never holds the token itself: make one with
/// `printf %s TOKEN | sha256sum`), or the token itself (at least 16 characters), which is hashed on load
/// and not kept.
public struct TokenTable: Sendable {
    public struct Entry: Sendable {
        public var scope: TokenScope
        public var name: String
        var digest: [UInt8]
    }

    public private(set) var entries: [Entry]

    public init(entries: [Entry] = []) { self.entries = entries }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    /// Parses a token list; every problem names its line.
    public static func parse(_ text: String) throws(ParseError) -> TokenTable {
        var entries: [Entry] = []
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = offset + 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count >= 2 else { throw ParseError(line: line, message: "expected SCOPE SECRET [NAME], e.g. \"read sha256:<64 hex digits> dashboard\"") }
            guard let scope = TokenScope(rawValue: String(fields[0])) else {
                throw ParseError(line: line, message: "\"\(fields[0])\" is not a scope; use read or admin")
            }
            let secret = fields[1]
            let digest: [UInt8]
            if secret.hasPrefix("sha256:") {
                guard let bytes = hexBytes(secret.dropFirst(7)), bytes.count == 32 else {
                    throw ParseError(line: line, message: "sha256: must be followed by 64 hex digits")
                }
                digest = bytes
            } else {
                guard secret.count >= 16 else { throw ParseError(line: line, message: "a token must be at least 16 characters long") }
                digest = Self.digest(secret)
            }
            let name = fields.count > 2 ? fields[2...].joined(separator: " ") : "line \(line)"
            entries.append(Entry(scope: scope, name: name, digest: digest))
        }
        return TokenTable(entries: entries)
    }

    /// The entry a presented token matches, if any. Every entry is compared in full, in constant time, so
    /// the time taken says nothing about how close a guess came.
    public func match(_ token: some StringProtocol) -> Entry? {
        let presented = Self.digest(token)
        var found: Entry?
        for entry in entries {
            var difference: UInt8 = 0
            for index in 0..<32 { difference |= presented[index] ^ entry.digest[index] }
            if difference == 0 && found == nil { found = entry }
        }
        return found
    }

    static func digest(_ token: some StringProtocol) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = hexValue(characters[index]), let low = hexValue(characters[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
