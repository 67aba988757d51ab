import Foundation

/// RFC 2047 encoded words for header text that is not plain ASCII (a Chinese subject, a display name).
public enum EncodedWord {
    /// `text` as is when it is printable ASCII; otherwise `=?UTF-8?B?…?=` words of at most 75 characters,
    /// split between whole characters, joined by folding white space.
    public static func encode(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) && !text.contains("=?") { return text }
        // 75 - len("=?UTF-8?B?") - len("?=") = 63 base64 characters → at most 45 bytes per word.
        var words: [String] = []
        var chunk = Data()
        for character in text {
            let bytes = Data(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=")
                chunk = Data()
            }
            chunk.append(bytes)
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }
}
