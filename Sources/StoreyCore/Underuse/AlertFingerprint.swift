/// The stable identity of one alert: one rule on one scope is one alert, across restarts and reloads.
///
/// FNV-1a (64 bit) of the rule name and the scope's kind and configuration id, in hex: deterministic on
/// every platform and release, unlike `Hasher`, and needing no cryptography.
public struct AlertFingerprint: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String

    public init(rule: String, scopeKind: ScopeKind, scopeID: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(rule)\u{1F}\(scopeKind.rawValue)\u{1F}\(scopeID)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        value = String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// A fingerprint as stored or shown (16 hex digits).
    public init(value: String) {
        self.value = value
    }

    public var description: String { value }
}
