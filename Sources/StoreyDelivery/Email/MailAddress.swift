/// Mail address helpers: `Name <user@example.com>` or a bare address.
public enum MailAddress {
    /// The address inside angle brackets, or the text itself.
    public static func bare(_ text: String) -> String {
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            return String(text[text.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// A plausible address: one `@` with text either side, no spaces, commas or angle brackets.
    public static func isValid(_ address: String) -> Bool {
        guard !address.contains(where: { " <>,".contains($0) }) else { return false }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
    }

    /// A header value with a display name encoded when it is not plain ASCII: `=?UTF-8?B?…?= <a@b>`.
    public static func header(_ text: String) -> String {
        guard let open = text.lastIndex(of: "<") else { return text }
        let name = text[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let address = text[open...]
        if name.isEmpty { return String(address) }
        return "\(EncodedWord.encode(name)) \(address)"
    }
}

import Foundation
