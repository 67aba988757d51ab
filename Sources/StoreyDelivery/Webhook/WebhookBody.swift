import Foundation
import StoreyCore

/// Storey's own webhook body, version `storey.alert.v1` (documented in README, "Webhook body"):
/// one shape for a single notification (`type: "alert"`) and for a group (`type: "group"`), each alert
/// with its fingerprint, status, labels, annotations, values with units, start, end and dashboard link.
public struct WebhookBody: Encodable, Sendable, Equatable {
    public static let version = "storey.alert.v1"

    public var version = WebhookBody.version
    /// `alert` for one notification, `group` for several gathered by a route's grouping.
    public var type: String
    public var receiver: String
    public var groupKey: String
    /// `firing` while any alert in the message is firing, else `resolved`.
    public var status: String
    public var commonLabels: [String: String]
    public var alerts: [Alert]
    /// The message in words, for receivers that only show text.
    public var text: String

    public struct Alert: Encodable, Sendable, Equatable {
        public var outboxId: Int64
        public var fingerprint: String
        public var episode: Int
        /// `firing` or `resolved`.
        public var status: String
        /// `firing`, `resolved`, `reminder` or `flapping`.
        public var kind: String
        public var rule: String
        public var scope: Scope
        public var severity: String
        public var isFlapping: Bool
        public var labels: [String: String]
        public var annotations: [String: String]
        public var values: Values?
        /// RFC 3339, UTC.
        public var time: String
        public var startsAt: String?
        public var endsAt: String?
        public var url: String?
    }

    public struct Scope: Encodable, Sendable, Equatable {
        public var kind: String
        public var id: String
    }

    public struct Values: Encodable, Sendable, Equatable {
        public var value: Double
        public var limit: Double
        public var resolveLevel: Double
        public var unit: String
    }

    public init(_ message: OutgoingMessage, language: Language, settings: RenderingSettings) {
        type = message.notifications.count == 1 ? "alert" : "group"
        receiver = message.receiver
        groupKey = message.groupKey
        status = message.notifications.contains { $0.notification.kind != .resolved } ? "firing" : "resolved"
        commonLabels = message.commonLabels
        alerts = message.notifications.map { carried in
            let n = carried.notification
            return Alert(
                outboxId: carried.outboxID, fingerprint: n.fingerprint.value, episode: n.episode,
                status: n.kind == .resolved ? "resolved" : "firing", kind: n.kind.rawValue, rule: n.rule,
                scope: Scope(kind: n.scopeKind.rawValue, id: n.scopeID), severity: n.severity.rawValue, isFlapping: n.isFlapping,
                labels: n.labels, annotations: n.annotations,
                values: n.values.map { Values(value: $0.value, limit: $0.limit, resolveLevel: $0.resolveLevel, unit: $0.unit) },
                time: Self.rfc3339(n.time), startsAt: n.startsAt.map(Self.rfc3339), endsAt: n.endsAt.map(Self.rfc3339),
                url: settings.externalURL.map { AlertText.link(base: $0, fingerprint: n.fingerprint.value) })
        }
        text = MessageText(message, language: language, settings: settings).plainText
    }

    /// The body's bytes: keys sorted, so every attempt sends the same bytes.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }

    /// `2026-11-27T08:00:00.000Z` (formatted by hand: a formatter object per call dominated rendering).
    static func rfc3339(_ milliseconds: Int64) -> String {
        let local = LocalInstant(milliseconds: milliseconds, in: .gmt)
        let millisecond = ((milliseconds % 1000) + 1000) % 1000
        let second = (((milliseconds - millisecond) / 1000) % 60 + 60) % 60
        return String(
            format: "%@T%02d:%02d:%02d.%03dZ", local.date.description, local.minuteOfDay / 60, local.minuteOfDay % 60, Int(second),
            Int(millisecond))
    }
}
