import Foundation

/// One condition on an alert label, written as Alertmanager writes it: `name="value"`, `name!="value"`,
/// `name=~"regex"`, `name!~"regex"`. A regular expression must match the whole value; a missing label
/// counts as the empty value.
public struct LabelMatcher: Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        case equal = "="
        case notEqual = "!="
        case matches = "=~"
        case notMatches = "!~"
    }

    public var name: String
    public var operation: Operation
    public var value: String
    private let pattern: AnchoredPattern?

    public init(name: String, operation: Operation, value: String) throws(DeliveryError) {
        self.name = name
        self.operation = operation
        self.value = value
        if operation == .matches || operation == .notMatches {
            guard let pattern = AnchoredPattern(value) else {
                throw .configuration("\"\(value)\" is not a valid regular expression")
            }
            self.pattern = pattern
        } else {
            pattern = nil
        }
    }

    /// Parses `name="value"` (quotes optional for values without spaces or commas).
    public init(parsing text: String) throws(DeliveryError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let range = trimmed.range(of: "!=~|=~|!~|!=|=", options: .regularExpression) else {
            throw .configuration("\"\(text)\" is not a matcher; write e.g. severity=\"critical\" or building=~\"t1|t2\"")
        }
        var operatorText = String(trimmed[range])
        if operatorText == "!=~" { operatorText = "!~" }
        let name = trimmed[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
        var value = trimmed[range.upperBound...].trimmingCharacters(in: .whitespaces)
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
            value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), let operation = Operation(rawValue: operatorText) else {
            throw .configuration("\"\(text)\" is not a matcher; write e.g. severity=\"critical\" or building=~\"t1|t2\"")
        }
        try self.init(name: name, operation: operation, value: value)
    }

    public func matches(_ labels: [String: String]) -> Bool {
        let actual = labels[name] ?? ""
        switch operation {
        case .equal: return actual == value
        case .notEqual: return actual != value
        case .matches: return pattern!.matches(actual)
        case .notMatches: return !pattern!.matches(actual)
        }
    }

    public var description: String { "\(name)\(operation.rawValue)\"\(value)\"" }

    public static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
        lhs.name == rhs.name && lhs.operation == rhs.operation && lhs.value == rhs.value
    }
}

/// A regular expression that must match a whole value.
struct AnchoredPattern: @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable and documented thread-safe.
    private let expression: NSRegularExpression

    init?(_ pattern: String) {
        guard let expression = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return nil }
        self.expression = expression
    }

    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
