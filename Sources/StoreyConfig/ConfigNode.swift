import Foundation

/// A YAML node with the file it came from and the field path that led to it, so that every error can
/// name the file, the line and the field. Reading a mapping also refuses keys nobody asked for: a
/// misspelt key is an error, not a silently ignored setting.
struct ConfigNode {
    let node: YAMLNode
    let file: String
    let path: String
    let problems: Problems

    /// Collects errors across the whole file instead of stopping at the first one.
    final class Problems {
        var errors: [ConfigError] = []
    }

    var line: Int { node.line }

    func fail(_ message: String) {
        problems.errors.append(ConfigError(file: file, line: line, field: path, message: message))
    }

    /// YAML's core types without timestamps and `=`: dates are read from their text (`LocalDate`), and
    /// every plain scalar is matched against each rule's regular expression (with 100,000 points the
    /// topology has 700,000 scalars; the two rules were a fifth of reading it).
    static func load(file: String, problems: Problems) -> ConfigNode? {
        // An empty file is known by its size and not read: Foundation (Swift 6.3) leaks the 4 KiB buffer
        // it reads an empty file into, every time (found by scripts/fuzz's LeakSanitizer; a reload of an
        // empty file would leak it again).
        if let size = try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int, size == 0 {
            problems.errors.append(ConfigError(file: file, line: 1, field: "", message: "the file is empty"))
            return nil
        }
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            problems.errors.append(ConfigError(file: file, line: 0, field: "", message: "cannot read the file: \(error.localizedDescription)"))
            return nil
        }
        do {
            guard let node = try YAMLDocument(parsing: text).root else {
                problems.errors.append(ConfigError(file: file, line: 1, field: "", message: "the file is empty"))
                return nil
            }
            return ConfigNode(node: node, file: file, path: "", problems: problems)
        } catch {
            problems.errors.append(ConfigError(file: file, line: error.line, field: "", message: "not valid YAML: \(error.problem)"))
            return nil
        }
    }

    // MARK: Mappings

    /// The mapping's entries, checking that only `allowed` keys are present.
    func mapping(allowed: [String]) -> Mapping? {
        guard let mapping = node.pairs else {
            fail("expected a mapping with keys \(allowed.joined(separator: ", "))")
            return nil
        }
        var entries: [String: ConfigNode] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { continue }
            let child = ConfigNode(node: value, file: file, path: path.isEmpty ? name : "\(path).\(name)", problems: problems)
            if !allowed.contains(name) {
                ConfigNode(node: key, file: file, path: child.path, problems: problems)
                    .fail("unknown key \"\(name)\"; accepted here: \(allowed.joined(separator: ", "))")
                continue
            }
            entries[name] = child
        }
        return Mapping(owner: self, entries: entries)
    }

    struct Mapping {
        let owner: ConfigNode
        let entries: [String: ConfigNode]

        subscript(key: String) -> ConfigNode? { entries[key] }

        /// A key that must be present; reports it missing (at the mapping's line) otherwise.
        func required(_ key: String) -> ConfigNode? {
            if let value = entries[key] { return value }
            let field = owner.path.isEmpty ? key : "\(owner.path).\(key)"
            owner.problems.errors.append(ConfigError(file: owner.file, line: owner.line, field: field, message: "missing; it is required"))
            return nil
        }
    }

    // MARK: Sequences

    func sequence() -> [ConfigNode] {
        guard let sequence = node.elements else {
            fail("expected a list")
            return []
        }
        return sequence.enumerated().map { index, element in
            ConfigNode(node: element, file: file, path: "\(path)[\(index)]", problems: problems)
        }
    }

    // MARK: Scalars

    var string: String? {
        guard let text = node.string, !text.isEmpty else {
            fail("expected a text value")
            return nil
        }
        return text
    }

    /// An identifier used in topics and URLs: letters, digits, `-`, `_`, `.`.
    var identifier: String? {
        guard let text = string else { return nil }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard text.unicodeScalars.allSatisfy(allowed.contains), !text.hasPrefix("."), text != "-" else {
            fail("\"\(text)\" is not a usable id: use letters, digits, '-', '_' and '.'")
            return nil
        }
        return text
    }

    func number(positive: Bool = false, unit: String = "") -> Double? {
        let suffix = unit.isEmpty ? "" : " of \(unit)"
        guard let value = node.float, value.isFinite else {
            fail("expected a number\(suffix), got \(describe)")
            return nil
        }
        if positive && value <= 0 {
            fail("expected a positive number\(suffix), got \(describe)")
            return nil
        }
        return value
    }

    func integer(minimum: Int? = nil, maximum: Int? = nil) -> Int? {
        guard let value = node.int else {
            fail("expected a whole number, got \(describe)")
            return nil
        }
        if let minimum, value < minimum {
            fail("expected at least \(minimum), got \(value)")
            return nil
        }
        if let maximum, value > maximum {
            fail("expected at most \(maximum), got \(value)")
            return nil
        }
        return value
    }

    var bool: Bool? {
        guard let value = node.bool else {
            fail("expected true or false, got \(describe)")
            return nil
        }
        return value
    }

    func oneOf<T: RawRepresentable>(_ type: T.Type) -> T? where T: CaseIterable, T.RawValue == String {
        guard let text = string else { return nil }
        guard let value = T(rawValue: text) else {
            fail("\"\(text)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    var date: LocalDateValue? {
        guard let text = string else { return nil }
        guard let date = LocalDateValue(text) else {
            fail("\"\(text)\" is not a date; write YYYY-MM-DD")
            return nil
        }
        return date
    }

    /// A duration such as `30s`, `5m`, `2h`, `7d`, or a plain number of seconds.
    var duration: Double? {
        guard let text = string else { return nil }
        if let seconds = Double(text), seconds >= 0 { return seconds }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last, let factor = units[unit], let amount = Double(text.dropLast()), amount >= 0 {
            return amount * factor
        }
        fail("\"\(text)\" is not a duration; write e.g. 30s, 5m, 2h or 7d")
        return nil
    }

    private var describe: String {
        switch node.kind {
        case .plainScalar, .quotedScalar: "\"\(node.string ?? "")\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}

import StoreyCore
typealias LocalDateValue = LocalDate
