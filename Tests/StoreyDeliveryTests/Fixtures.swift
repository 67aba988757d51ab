import Foundation
import StoreyCore
import StoreyDelivery
import StoreyStore

/// Notifications as the alert side writes them to the outbox: built as JSON and decoded, so the tests
/// hold delivery to the outbox's contract (AlertNotification's Codable form).
enum Fixtures {
    static func notificationJSON(
        kind: String = "firing", rule: String = "low-energy", scopeKind: String = "tenant", scopeID: String = "alpha",
        episode: Int = 1, time: Int64 = 1_790_000_000_000, severity: String = "warning", building: String = "t1",
        extraLabels: [String: String] = [:], annotations: [String: String] = [:]
    ) -> String {
        let fingerprint = AlertFingerprint(rule: rule, scopeKind: ScopeKind(rawValue: scopeKind)!, scopeID: scopeID).value
        var labels = ["alertname": rule, "severity": severity, "building": building, scopeKind: scopeID]
        labels.merge(extraLabels) { $1 }
        var object: [String: Any] = [
            "kind": kind, "fingerprint": ["value": fingerprint], "rule": rule, "scopeKind": scopeKind, "scopeID": scopeID,
            "episode": episode, "time": time, "startsAt": time - 600_000, "severity": severity, "isFlapping": kind == "flapping",
            "labels": labels, "annotations": annotations,
            "values": ["value": 0.12, "limit": 0.3, "resolveLevel": 0.35, "unit": "kWh/m²"],
        ]
        if kind == "resolved" { object["endsAt"] = time }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func notification(
        kind: String = "firing", rule: String = "low-energy", scopeKind: String = "tenant", scopeID: String = "alpha", episode: Int = 1,
        time: Int64 = 1_790_000_000_000, severity: String = "warning", building: String = "t1", extraLabels: [String: String] = [:],
        annotations: [String: String] = [:]
    ) -> AlertNotification {
        let json = notificationJSON(
            kind: kind, rule: rule, scopeKind: scopeKind, scopeID: scopeID, episode: episode, time: time, severity: severity,
            building: building, extraLabels: extraLabels, annotations: annotations)
        return try! JSONDecoder().decode(AlertNotification.self, from: Data(json.utf8))
    }

    static func message(_ notifications: [AlertNotification], receiver: String = "ops", recipient: String = "", key: String = "msg_test", thread: String? = nil) -> OutgoingMessage {
        OutgoingMessage(
            id: 1, receiver: receiver, recipient: recipient, groupKey: "0|x", messageKey: key, threadKey: thread,
            notifications: notifications.enumerated().map { OutgoingMessage.Carried(outboxID: Int64($0.offset + 1), notification: $0.element) })
    }

    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let secondSecret = "whsec_" + Data((0..<32).map { UInt8($0) }).base64EncodedString()
}
