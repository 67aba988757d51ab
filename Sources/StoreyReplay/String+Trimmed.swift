extension StringProtocol {
    /// Without leading and trailing spaces and tabs. Foundation's `trimmingCharacters(in:)` goes through
    /// NSString on Linux, and a year of recordings calls it for every cell.
    var trimmedOfSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
