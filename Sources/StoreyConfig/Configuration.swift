import Foundation
import StoreyCore
import StoreyDelivery

/// Everything `storeyd` runs with: daemon settings and the topology.
public struct Configuration: Sendable {
    /// The main file, as given (errors and reloads refer to it).
    public var file: String
    public var mqtt: MQTTConfiguration
    public var databasePath: String
    public var http: HostPort
    public var intake: IntakeConfiguration
    /// How long raw readings are kept; figures are kept for good.
    public var rawRetentionDays: Double
    public var topology: Topology
    /// Topic prefix of the default convention `PREFIX/BUILDING/LEVEL/SPACE/POINT`.
    public var topicPrefix: String
    /// Working hours per tenant (and the default), holiday calendars per building.
    public var workingTimes: WorkingTimeTable
    public var alerting: AlertingConfiguration
    /// Underuse rules, in the order declared.
    public var rules: [UnderuseRule]
    /// TLS, tokens and open health checks of the HTTP side.
    public var httpAccess = HTTPAccessConfiguration()
    /// Alert delivery: receivers, routes, time intervals (nil: alerts stay in the outbox, undelivered).
    public var delivery: DeliveryConfiguration? = nil
    /// SQLite (`databasePath`) or a PostgreSQL store shared by several instances.
    public var storage: StorageConfiguration = .sqlite

    /// Topic filters for some of the buildings only (a shard's): each one's tree under the prefix, plus its
    /// points' topics outside it.
    public func subscriptions(forBuildings ids: Set<String>) -> [String] {
        var filters: [String] = []
        var seen = Set<String>()
        for building in topology.buildings where ids.contains(building.id) && seen.insert(building.id).inserted {
            filters.append("\(topicPrefix)/\(building.id)/#")
        }
        for point in topology.points where ids.contains(topology.buildings[point.buildingIndex].id) {
            if !point.topic.hasPrefix("\(topicPrefix)/\(topology.buildings[point.buildingIndex].id)/"), seen.insert(point.topic).inserted {
                filters.append(point.topic)
            }
        }
        return filters
    }

    /// Topic filters to subscribe to: the prefix's whole tree, plus every point topic outside it.
    public var subscriptions: [String] {
        var filters = ["\(topicPrefix)/#"]
        var seen = Set(filters)
        for point in topology.points where !point.topic.hasPrefix(topicPrefix + "/") && seen.insert(point.topic).inserted {
            filters.append(point.topic)
        }
        return filters
    }
}

public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    /// `HOST:PORT` or `[IPv6]:PORT`.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Where the broker is: `mqtt://HOST:PORT` or `mqtts://HOST:PORT` (TLS).
public struct BrokerURL: Sendable, Equatable, CustomStringConvertible {
    public var tls: Bool
    public var host: String
    public var port: Int
    public init?(_ text: String) {
        let tls: Bool
        let rest: Substring
        if text.hasPrefix("mqtt://") {
            tls = false
            rest = text.dropFirst(7)
        } else if text.hasPrefix("mqtts://") {
            tls = true
            rest = text.dropFirst(8)
        } else {
            return nil
        }
        let authority = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        if let hostPort = HostPort(authority) {
            self.host = hostPort.host
            self.port = hostPort.port
        } else if !authority.isEmpty, !authority.contains(":") {
            self.host = authority
            self.port = tls ? 8883 : 1883
        } else {
            return nil
        }
        self.tls = tls
    }
    public var description: String { "\(tls ? "mqtts" : "mqtt")://\(HostPort(host: host, port: port))" }
}

/// A secret is never written in the main configuration: it is read from a file, or from a systemd
/// credential (`LoadCredential=` puts it in `$CREDENTIALS_DIRECTORY`).
public enum SecretReference: Sendable, Equatable {
    case file(String)
    case credential(String)

    /// Reads the secret (without a trailing newline).
    public func read(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let path: String
        switch self {
        case .file(let file):
            path = file
        case .credential(let name):
            guard let directory = environment["CREDENTIALS_DIRECTORY"] else {
                throw SecretError(message: "credential \"\(name)\" asked for, but CREDENTIALS_DIRECTORY is not set (is the service started with LoadCredential=?)")
            }
            path = "\(directory)/\(name)"
            // systemd passes an optional credential only when its source exists: say where it goes.
            guard FileManager.default.fileExists(atPath: path) else {
                throw SecretError(message: "credential \"\(name)\" was not passed to the service (no \(path)); with the packaged unit put the secret in /etc/credstore/storey.\(name) (mode 0600) and restart")
            }
        }
        do {
            var text = try String(contentsOfFile: path, encoding: .utf8)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text
        } catch {
            throw SecretError(message: "cannot read the secret at \(path): \(error.localizedDescription)")
        }
    }
}

public struct SecretError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public enum MQTTVersion: String, Sendable, CaseIterable {
    case v311 = "3.1.1"
    case v5 = "5"
}

public struct MQTTConfiguration: Sendable, Equatable {
    public var url: BrokerURL
    public var clientID: String
    public var version: MQTTVersion = .v5
    public var qos: Int = 1
    public var keepAlive: Int = 30
    /// MQTT 5 session expiry: how long the broker keeps the session (and queues readings) while Storey is away.
    public var sessionExpiry: Int = 7 * 86400
    public var username: String?
    public var password: SecretReference?
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var receiveMaximum: Int = 1000
}

public struct IntakeConfiguration: Sendable, Equatable {
    public var maxPayloadBytes = 64 * 1024
    /// How far ahead of our clock a reading's timestamp may be, in seconds.
    public var futureTolerance: Double = 300
    /// Messages held between the MQTT thread and storage before back-pressure stops reading the socket.
    public var maxBufferedMessages = 10_000
}
