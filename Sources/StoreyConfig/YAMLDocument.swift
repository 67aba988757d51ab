// Yams builds its YAML tree on libyaml, which it carries as its CYaml module; this file reads libyaml's
// events through the same module, so there is one libyaml in the binary.
import CYaml

/// A YAML file read into flat arrays: a node is an index, its children a run of indices.
///
/// Yams' tree costs about 200 bytes a node (an object for each node's tag, an array for each mapping);
/// a topology of 100,000 points has 850,000 nodes, and its tree lifted the daemon's resident memory to
/// 213 MB while it started. Here a node costs 16 bytes and a short text none beside its 16-byte `String`.
final class YAMLDocument {
    enum Kind: UInt8 {
        /// Plain scalars may be read as numbers and booleans; quoted and block ones are always text.
        case plainScalar, quotedScalar, mapping, sequence
    }

    struct Entry {
        var kind: Kind
        var line: UInt32
        /// A scalar's index in `texts`; a container's first index in `children`.
        var first: UInt32
        /// A container's number of children (a mapping's keys and values alternate).
        var count: UInt32
    }

    /// Where the text is not YAML, as libyaml says it.
    struct SyntaxError: Error {
        let line: Int
        let problem: String
    }

    private(set) var entries: [Entry] = []
    private(set) var texts: [String] = []
    private(set) var children: [UInt32] = []
    /// The document's root; nil for a stream with no document, or one holding only comments.
    var root: YAMLNode? { rootIndex.map { YAMLNode(document: self, index: $0) } }
    /// An index, not a node: a node holds its document, and the document holding it would never be freed
    /// (found by scripts/fuzz's LeakSanitizer).
    private var rootIndex: UInt32?

    init(parsing text: String) throws(SyntaxError) {
        var text = text
        var failure: SyntaxError?
        text.withUTF8 { bytes in
            do throws(SyntaxError) { try parse(bytes) } catch { failure = error }
        }
        if let failure { throw failure }
        entries.shrinkToFitIfLoose()
        texts.shrinkToFitIfLoose()
        children.shrinkToFitIfLoose()
    }

    private func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(SyntaxError) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw SyntaxError(line: 1, problem: "out of memory") }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)

        // Open containers: their entry, and where their children begin in `pending`.
        var open: [(entry: Int, start: Int)] = []
        var pending: [UInt32] = []
        var anchors: [String: UInt32] = [:]
        var documents = 0

        func add(_ entry: Entry, anchor: UnsafePointer<yaml_char_t>?) -> UInt32 {
            let index = UInt32(entries.count)
            entries.append(entry)
            if let anchor { anchors[String(cString: anchor)] = index }
            return index
        }
        func place(_ index: UInt32) {
            if open.isEmpty { rootIndex = index } else { pending.append(index) }
        }

        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                let problem = parser.problem.map { String(cString: $0) } ?? "unreadable"
                let context = parser.context.map { String(cString: $0) + ": " } ?? ""
                throw SyntaxError(line: Int(parser.problem_mark.line) + 1, problem: context + problem)
            }
            defer { yaml_event_delete(&event) }
            let line = UInt32(clamping: event.start_mark.line + 1)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 { throw SyntaxError(line: Int(line), problem: "expected one document in the file, found a second") }
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                // An explicit `!!str` makes even a plain scalar text.
                let explicitText = scalar.tag.map { String(cString: $0) == "tag:yaml.org,2002:str" } ?? false
                let plain = scalar.style == YAML_PLAIN_SCALAR_STYLE && !explicitText
                texts.append(value)
                place(add(Entry(kind: plain ? .plainScalar : .quotedScalar, line: line, first: UInt32(texts.count - 1), count: 0), anchor: scalar.anchor))
            case YAML_SEQUENCE_START_EVENT:
                open.append((Int(add(Entry(kind: .sequence, line: line, first: 0, count: 0), anchor: event.data.sequence_start.anchor)), pending.count))
            case YAML_MAPPING_START_EVENT:
                open.append((Int(add(Entry(kind: .mapping, line: line, first: 0, count: 0), anchor: event.data.mapping_start.anchor)), pending.count))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let (entry, start) = open.removeLast()
                if entries[entry].kind == .mapping { try checkKeys(pending[start...]) }
                entries[entry].first = UInt32(children.count)
                entries[entry].count = UInt32(pending.count - start)
                children.append(contentsOf: pending[start...])
                pending.removeSubrange(start...)
                place(UInt32(entry))
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                guard let index = anchors[name] else { throw SyntaxError(line: Int(line), problem: "found undefined alias \"\(name)\"") }
                place(index)
            default:
                break
            }
        }
    }

    /// A mapping's keys are unique: a second value for one key would silently replace the first.
    private func checkKeys(_ keysAndValues: ArraySlice<UInt32>) throws(SyntaxError) {
        let keys = stride(from: keysAndValues.startIndex, to: keysAndValues.endIndex, by: 2).map { keysAndValues[$0] }
        guard keys.count > 1 else { return }
        var seen = Set<String>(minimumCapacity: keys.count)
        for key in keys {
            let entry = entries[Int(key)]
            guard entry.kind == .plainScalar || entry.kind == .quotedScalar else { continue }
            let text = texts[Int(entry.first)]
            if !seen.insert(text).inserted { throw SyntaxError(line: Int(entry.line), problem: "duplicate key \"\(text)\"") }
        }
    }
}

/// One node of a `YAMLDocument`.
struct YAMLNode {
    let document: YAMLDocument
    let index: UInt32

    private var entry: YAMLDocument.Entry { document.entries[Int(index)] }
    var kind: YAMLDocument.Kind { entry.kind }
    var line: Int { Int(entry.line) }

    /// A scalar's text, whatever its style; nil for a mapping or a list.
    var string: String? {
        let entry = entry
        guard entry.kind == .plainScalar || entry.kind == .quotedScalar else { return nil }
        return document.texts[Int(entry.first)]
    }

    var isScalar: Bool { string != nil }

    private func child(_ offset: Int) -> YAMLNode {
        YAMLNode(document: document, index: document.children[Int(entry.first) + offset])
    }

    /// A mapping's keys and values in the file's order; nil for anything else.
    var pairs: [(key: YAMLNode, value: YAMLNode)]? {
        guard entry.kind == .mapping else { return nil }
        return stride(from: 0, to: Int(entry.count), by: 2).map { (child($0), child($0 + 1)) }
    }

    /// A list's elements; nil for anything else.
    var elements: [YAMLNode]? {
        guard entry.kind == .sequence else { return nil }
        return (0..<Int(entry.count)).map(child)
    }

    /// A mapping's value for a text key.
    subscript(key: String) -> YAMLNode? {
        pairs?.first { $0.key.string == key }?.value
    }

    /// YAML's plain text forms of numbers, as Yams reads them: `_` as a separator, `.inf`, `.nan`.
    var float: Double? {
        guard entry.kind == .plainScalar, let text = string else { return nil }
        switch text.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: return Double(text.replacingOccurrences(of: "_", with: ""))
        }
    }

    /// Whole numbers in decimal, or with a `0x`, `0o` or `0b` prefix; `_` as a separator.
    var int: Int? {
        guard entry.kind == .plainScalar, var text = string?.replacingOccurrences(of: "_", with: "") else { return nil }
        var sign = ""
        if let first = text.first, first == "-" || first == "+" {
            sign = first == "-" ? "-" : ""
            text.removeFirst()
        }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where text.hasPrefix(prefix) {
            return Int(sign + text.dropFirst(2), radix: radix)
        }
        return Int(sign + text)
    }

    /// YAML 1.1's booleans, as Yams reads them: true/false, yes/no, on/off in any case.
    var bool: Bool? {
        guard entry.kind == .plainScalar, let text = string?.lowercased() else { return nil }
        switch text {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }
}

extension Array {
    /// Hands back the spare capacity of an array grown by appending, when it is more than an eighth.
    fileprivate mutating func shrinkToFitIfLoose() {
        guard capacity - count > count / 8 else { return }
        var exact: [Element] = []
        exact.reserveCapacity(count)
        exact.append(contentsOf: self)
        self = exact
    }
}
