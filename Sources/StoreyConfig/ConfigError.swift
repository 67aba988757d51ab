/// A configuration problem, told the way an operator fixes it: file, line, field, what is wrong.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var field: String
    public var message: String

    public init(file: String, line: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `storey.yaml:12: topology.buildings[0].floors[2].area: expected a positive number of m², got "big"`
    public var description: String {
        "\(file):\(line): \(field.isEmpty ? "" : field + ": ")\(message)"
    }
}

/// Every problem found in one pass, so an operator fixes them all at once.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
