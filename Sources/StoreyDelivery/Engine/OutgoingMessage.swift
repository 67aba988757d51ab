import Foundation
import StoreyCore

/// One message as the senders get it: its stored identity and the notifications it carries, in order.
public struct OutgoingMessage: Sendable, Equatable {
    public var id: Int64
    public var receiver: String
    /// The email address ("" for a webhook).
    public var recipient: String
    public var groupKey: String
    /// The webhook-id, or the mail's Message-ID: the same on every attempt.
    public var messageKey: String
    /// The Message-ID this mail answers (its alert's first mail), if any.
    public var threadKey: String?
    public var notifications: [Carried]

    public struct Carried: Sendable, Equatable {
        public var outboxID: Int64
        public var notification: AlertNotification
        public init(outboxID: Int64, notification: AlertNotification) {
            self.outboxID = outboxID
            self.notification = notification
        }
    }

    public init(
        id: Int64, receiver: String, recipient: String, groupKey: String, messageKey: String, threadKey: String?, notifications: [Carried]
    ) {
        self.id = id
        self.receiver = receiver
        self.recipient = recipient
        self.groupKey = groupKey
        self.messageKey = messageKey
        self.threadKey = threadKey
        self.notifications = notifications
    }

    /// Labels every carried alert shares (a group's common ground).
    public var commonLabels: [String: String] {
        guard var common = notifications.first?.notification.labels else { return [:] }
        for carried in notifications.dropFirst() {
            common = common.filter { carried.notification.labels[$0.key] == $0.value }
        }
        return common
    }
}

/// How messages are rendered for every receiver: the dashboard link and the clock the texts show.
public struct RenderingSettings: Sendable, Equatable {
    public var externalURL: String?
    public var timeZone: TimeZone
    public init(externalURL: String? = nil, timeZone: TimeZone = .gmt) {
        self.externalURL = externalURL
        self.timeZone = timeZone
    }
}
