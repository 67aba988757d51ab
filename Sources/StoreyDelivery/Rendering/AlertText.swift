import Foundation
import StoreyCore

/// An alert notification in words, in English or Simplified Chinese: a title, short lines that read on a
/// phone, and a link. Every sender (bots, mail, the webhook's `text`) renders from this one.
public struct AlertText: Sendable, Equatable {
    public var title: String
    /// `label: value` lines, most important first.
    public var facts: [(label: String, value: String)]
    public var description: String?
    public var link: String?

    public static func == (lhs: AlertText, rhs: AlertText) -> Bool {
        lhs.title == rhs.title && lhs.facts.map(\.label) == rhs.facts.map(\.label) && lhs.facts.map(\.value) == rhs.facts.map(\.value)
            && lhs.description == rhs.description && lhs.link == rhs.link
    }

    public init(_ notification: AlertNotification, language: Language, timeZone: TimeZone, externalURL: String?) {
        let words = Words(language)
        let subject = notification.annotations["summary"] ?? words.defaultSummary(notification)
        // Chinese brackets 【】 need no space after them.
        title = words.status(notification.kind) + (language == .simplifiedChinese ? "" : " ") + subject
        var facts: [(String, String)] = []
        facts.append((words.severityLabel, words.severity(notification.severity)))
        facts.append((words.scopeLabel, words.scope(notification.scopeKind, notification.scopeID)))
        if let building = notification.labels["building"], notification.scopeKind != .building {
            facts.append((words.buildingLabel, building))
        }
        if let tenant = notification.labels["tenant"], notification.scopeKind != .tenant {
            facts.append((words.tenantLabel, tenant))
        }
        if let values = notification.values {
            facts.append((words.valueLabel, Self.format(values.value, unit: values.unit)))
            facts.append((words.limitLabel, Self.format(values.limit, unit: values.unit)))
            if notification.kind != .resolved {
                facts.append((words.resolveLabel, Self.format(values.resolveLevel, unit: values.unit)))
            }
        }
        if let startsAt = notification.startsAt {
            facts.append((words.startedLabel, Self.format(time: startsAt, timeZone: timeZone)))
        }
        if let endsAt = notification.endsAt, notification.kind == .resolved {
            facts.append((words.endedLabel, Self.format(time: endsAt, timeZone: timeZone)))
        }
        facts.append((words.ruleLabel, notification.rule))
        self.facts = facts
        description = notification.annotations["description"]
        link = externalURL.map { Self.link(base: $0, fingerprint: notification.fingerprint.value) }
    }

    /// The dashboard page of one alert.
    public static func link(base: String, fingerprint: String) -> String {
        (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/alerts/" + fingerprint
    }

    static func format(_ value: Double, unit: String) -> String {
        let number: String
        if value == value.rounded() && abs(value) < 1e12 {
            number = String(Int64(value))
        } else if abs(value) >= 100 {
            number = String(format: "%.1f", value)
        } else {
            number = String(format: "%.3g", value)
        }
        return unit.isEmpty ? number : "\(number) \(unit)"
    }

    static func format(time milliseconds: Int64, timeZone: TimeZone) -> String {
        let local = LocalInstant(milliseconds: milliseconds, in: timeZone)
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        let sign = offset < 0 ? "-" : "+"
        let zone = offset == 0 ? "UTC" : String(format: "UTC%@%02d:%02d", sign, abs(offset) / 3600, abs(offset) % 3600 / 60)
        return String(format: "%@ %02d:%02d %@", local.date.description, local.minuteOfDay / 60, local.minuteOfDay % 60, zone)
    }

    /// Plain text: the title, then one fact per line.
    public var plainText: String {
        var lines = [title, ""]
        lines += facts.map { "\($0.label): \($0.value)" }
        if let description { lines += ["", description] }
        if let link { lines += ["", link] }
        return lines.joined(separator: "\n")
    }

    /// Markdown as WeCom, DingTalk and Slack read it (bold title, one fact per line).
    public func markdown(bold: (String) -> String = { "**\($0)**" }) -> String {
        var lines = [bold(title)]
        lines += facts.map { "\($0.label): \($0.value)" }
        if let description { lines.append(description) }
        if let link { lines.append(link) }
        return lines.joined(separator: "\n")
    }
}

/// The few words of a notification, in each language.
struct Words {
    let language: Language
    init(_ language: Language) { self.language = language }

    private var zh: Bool { language == .simplifiedChinese }

    func status(_ kind: AlertNotification.Kind) -> String {
        switch (kind, zh) {
        case (.firing, false): "[FIRING]"
        case (.resolved, false): "[RESOLVED]"
        case (.reminder, false): "[STILL FIRING]"
        case (.flapping, false): "[FLAPPING]"
        case (.firing, true): "【告警】"
        case (.resolved, true): "【已恢复】"
        case (.reminder, true): "【持续告警】"
        case (.flapping, true): "【频繁波动】"
        }
    }

    func defaultSummary(_ notification: AlertNotification) -> String {
        let scope = self.scope(notification.scopeKind, notification.scopeID)
        return zh ? "\(scope)：\(notification.rule)" : "\(notification.rule) on \(scope)"
    }

    func scope(_ kind: ScopeKind, _ id: String) -> String {
        guard zh else { return "\(kind.rawValue) \(id)" }
        let name = switch kind {
        case .point: "测点"
        case .space: "空间"
        case .tenant: "租户"
        case .floor: "楼层"
        case .building: "楼栋"
        }
        return "\(name) \(id)"
    }

    func severity(_ severity: Severity) -> String {
        switch (severity, zh) {
        case (.info, false): "info"
        case (.warning, false): "warning"
        case (.critical, false): "critical"
        case (.info, true): "提示"
        case (.warning, true): "警告"
        case (.critical, true): "严重"
        }
    }

    var severityLabel: String { zh ? "级别" : "Severity" }
    var scopeLabel: String { zh ? "对象" : "Scope" }
    var buildingLabel: String { zh ? "楼栋" : "Building" }
    var tenantLabel: String { zh ? "租户" : "Tenant" }
    var valueLabel: String { zh ? "当前值" : "Value" }
    var limitLabel: String { zh ? "阈值" : "Limit" }
    var resolveLabel: String { zh ? "恢复值" : "Resolves at" }
    var startedLabel: String { zh ? "开始时间" : "Started" }
    var endedLabel: String { zh ? "结束时间" : "Ended" }
    var ruleLabel: String { zh ? "规则" : "Rule" }

    /// The title of a message that gathers several notifications.
    func groupTitle(count: Int, firing: Int, resolved: Int, group: String) -> String {
        if zh {
            return "【Storey】\(group)：\(count) 条告警变化（告警 \(firing)，已恢复 \(resolved)）"
        }
        return "[Storey] \(group): \(count) alert changes (\(firing) firing, \(resolved) resolved)"
    }
}
