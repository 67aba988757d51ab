import Foundation
import StoreyCore

/// A whole message in words: one alert's text, or a group's title with each alert's text below.
public struct MessageText: Sendable {
    public var title: String
    public var alerts: [AlertText]

    public init(_ message: OutgoingMessage, language: Language, settings: RenderingSettings) {
        alerts = message.notifications.map {
            AlertText($0.notification, language: language, timeZone: settings.timeZone, externalURL: settings.externalURL)
        }
        if alerts.count == 1 {
            title = alerts[0].title
        } else {
            let kinds = message.notifications.map(\.notification.kind)
            let group = message.commonLabels["building"].map { "\(Words(language).buildingLabel) \($0)" } ?? "Storey"
            title = Words(language).groupTitle(
                count: kinds.count, firing: kinds.filter { $0 != .resolved }.count, resolved: kinds.filter { $0 == .resolved }.count,
                group: group)
        }
    }

    public var plainText: String {
        if alerts.count == 1 { return alerts[0].plainText }
        return ([title] + alerts.map { "\n" + $0.plainText }).joined(separator: "\n")
    }

    public func markdown(bold: (String) -> String = { "**\($0)**" }) -> String {
        if alerts.count == 1 { return alerts[0].markdown(bold: bold) }
        return ([bold(title)] + alerts.map { "\n" + $0.markdown(bold: bold) }).joined(separator: "\n")
    }
}
