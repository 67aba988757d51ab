import Foundation
import StoreyCore
import StoreyDelivery

/// Reads the `delivery:` section: receivers (webhooks, group bots, email), the routing tree, named
/// time intervals, retry and circuit-breaker settings. Every problem names file, line and field.
struct DeliveryReader {
    let problems: ConfigNode.Problems

    func read(_ node: ConfigNode) -> DeliveryConfiguration? {
        guard let section = node.mapping(allowed: [
            "external_url", "time_zone", "poll_interval", "max_concurrent_sends", "retry", "circuit_breaker", "receivers",
            "time_intervals", "route", "commit_batch", "retention",
        ]) else { return nil }
        let errorsBefore = problems.errors.count
        var configuration = DeliveryConfiguration()
        if let node = section["external_url"], let url = node.string {
            if Self.isHTTPURL(url) { configuration.externalURL = url } else { node.fail("\"\(url)\" is not an http:// or https:// address") }
        }
        if let node = section["time_zone"], let name = node.string {
            if let zone = TimeZone(identifier: name) { configuration.timeZone = zone } else {
                node.fail("\"\(name)\" is not a time zone of the tz database, e.g. Asia/Shanghai")
            }
        }
        if let value = section["poll_interval"]?.duration {
            if value < 0.05 { section["poll_interval"]!.fail("expected at least 50ms") } else { configuration.pollInterval = value }
        }
        if let value = section["max_concurrent_sends"]?.integer(minimum: 1, maximum: 1024) { configuration.maxConcurrentSends = value }
        if let node = section["retry"], let retry = node.mapping(allowed: ["initial", "maximum", "give_up_after", "maximum_retry_after"]) {
            if let value = retry["initial"]?.duration { configuration.retry.initialDelay = value }
            if let value = retry["maximum"]?.duration { configuration.retry.maximumDelay = value }
            if let value = retry["give_up_after"]?.duration { configuration.retry.giveUpAfter = value }
            if let value = retry["maximum_retry_after"]?.duration { configuration.retry.maximumRetryAfter = value }
            if configuration.retry.maximumDelay < configuration.retry.initialDelay {
                node.fail("maximum (\(configuration.retry.maximumDelay)s) is shorter than initial (\(configuration.retry.initialDelay)s)")
            }
        }
        if let node = section["circuit_breaker"], let breaker = node.mapping(allowed: ["failures", "open_for", "maximum_open"]) {
            if let value = breaker["failures"]?.integer(minimum: 1, maximum: 1000) { configuration.circuitBreaker.failureThreshold = value }
            if let value = breaker["open_for"]?.duration { configuration.circuitBreaker.initialOpen = value }
            if let value = breaker["maximum_open"]?.duration { configuration.circuitBreaker.maximumOpen = value }
        }
        if let node = section["commit_batch"], let batch = node.mapping(allowed: ["size", "within"]) {
            if let value = batch["size"]?.integer(minimum: 1, maximum: 10_000) { configuration.outcomeBatch.size = value }
            if let node = batch["within"], let value = node.duration {
                if value > 5 { node.fail("expected at most 5s: outcomes waiting longer hold back the next message of their channel") } else {
                    configuration.outcomeBatch.within = value
                }
            }
        }
        if let node = section["retention"], let retention = node.mapping(allowed: ["delivered", "dead", "prune_every"]) {
            for (key, path) in [("delivered", \RetentionPolicy.delivered), ("dead", \RetentionPolicy.dead), ("prune_every", \RetentionPolicy.interval)] {
                guard let node = retention[key], let value = node.duration else { continue }
                if value < 1 { node.fail("expected at least 1s") } else { configuration.retention[keyPath: path] = value }
            }
        }
        var receiverLines: [String: Int] = [:]
        for receiverNode in section["receivers"]?.sequence() ?? [] {
            guard let (name, receiver) = readReceiver(receiverNode) else { continue }
            if let line = receiverLines[name] {
                receiverNode.fail("receiver \"\(name)\" is already defined at line \(line)")
                continue
            }
            receiverLines[name] = receiverNode.line
            if let receiver { configuration.receivers.append(receiver) }
        }
        for intervalNode in section["time_intervals"]?.sequence() ?? [] {
            guard let set = readTimeIntervalSet(intervalNode) else { continue }
            if configuration.timeIntervals[set.name] != nil {
                intervalNode.fail("time interval \"\(set.name)\" is defined twice")
            }
            configuration.timeIntervals[set.name] = set
        }
        if let routeNode = section.required("route") {
            let known = Set(configuration.receivers.map(\.name))
            if let route = readRoute(routeNode, isRoot: true, receivers: known, intervals: Set(configuration.timeIntervals.keys)) {
                configuration.route = route
            }
        }
        return problems.errors.count == errorsBefore ? configuration : nil
    }

    // MARK: Receivers

    /// The receiver's name (nil when it has none) and the receiver, if it is valid.
    private func readReceiver(_ node: ConfigNode) -> (String, Receiver?)? {
        guard let section = node.mapping(allowed: ["name", "language", "max_concurrency", "webhook", "email"]),
            let name = section.required("name")?.identifier
        else { return nil }
        var kind: Receiver.Kind?
        switch (section["webhook"], section["email"]) {
        case (let webhook?, nil): kind = readWebhook(webhook).map(Receiver.Kind.webhook)
        case (nil, let email?): kind = readEmail(email).map(Receiver.Kind.email)
        case (.some, .some): node.fail("a receiver is either a webhook or an email receiver; define another receiver for the other")
        case (nil, nil): node.fail("give the receiver a webhook: or an email: section")
        }
        guard let kind else { return (name, nil) }
        var receiver = Receiver(name: name, kind: kind)
        if let language = section["language"]?.oneOf(Language.self) { receiver.language = language }
        if let value = section["max_concurrency"]?.integer(minimum: 1, maximum: 256) { receiver.maxConcurrency = value }
        return (name, receiver)
    }

    private func readWebhook(_ node: ConfigNode) -> WebhookReceiver? {
        guard let section = node.mapping(allowed: [
            "url", "url_file", "url_credential", "preset", "secret_files", "secret_credentials", "signing_secret_file",
            "signing_secret_credential", "timeout",
        ]) else { return nil }
        // The URL, or (for a bot whose URL carries its token) a file or credential holding it.
        var urlSecret: DeliverySecret?
        var url = "https://url.from.secret.invalid/"
        switch (section["url"], section["url_file"], section["url_credential"]) {
        case (let urlNode?, nil, nil):
            guard let text = urlNode.string else { return nil }
            guard Self.isHTTPURL(text) else {
                urlNode.fail("\"\(text)\" is not an http:// or https:// address")
                return nil
            }
            url = text
        case (nil, let fileNode?, nil):
            guard let path = fileNode.string else { return nil }
            let resolved = Self.resolve(path, relativeTo: fileNode.file)
            if let text = try? DeliverySecret.file(resolved).read() {
                if !Self.isHTTPURL(text) { fileNode.fail("\(resolved) does not hold an http:// or https:// address") }
            } else {
                fileNode.fail("cannot read the URL file \(resolved)")
            }
            urlSecret = .file(resolved)
        case (nil, nil, let nameNode?):
            guard let name = nameNode.identifier else { return nil }
            urlSecret = .credential(name)
        default:
            node.fail("give the webhook one of url, url_file or url_credential")
            return nil
        }
        var webhook = WebhookReceiver(url: url)
        webhook.urlSecret = urlSecret
        if let preset = section["preset"]?.oneOf(WebhookReceiver.Preset.self) { webhook.preset = preset }
        for fileNode in section["secret_files"]?.sequence() ?? [] {
            guard let path = fileNode.string else { continue }
            let resolved = Self.resolve(path, relativeTo: fileNode.file)
            checkWebhookSecret(resolved, at: fileNode)
            webhook.secrets.append(.file(resolved))
        }
        for nameNode in section["secret_credentials"]?.sequence() ?? [] {
            if let name = nameNode.identifier { webhook.secrets.append(.credential(name)) }
        }
        if !webhook.secrets.isEmpty && webhook.preset != .standard {
            node.fail("whsec_ secrets sign Storey's own body (preset standard); \(webhook.preset.rawValue) uses signing_secret_file or signing_secret_credential")
        }
        if let fileNode = section["signing_secret_file"], let path = fileNode.string {
            let resolved = Self.resolve(path, relativeTo: fileNode.file)
            if !FileManager.default.isReadableFile(atPath: resolved) { fileNode.fail("cannot read the secret file \(resolved)") }
            webhook.signingSecret = .file(resolved)
        }
        if let nameNode = section["signing_secret_credential"], let name = nameNode.identifier {
            if webhook.signingSecret != nil { nameNode.fail("give signing_secret_file or signing_secret_credential, not both") }
            webhook.signingSecret = .credential(name)
        }
        if webhook.signingSecret != nil && webhook.preset != .dingtalk && webhook.preset != .feishu {
            node.fail("signing secrets are for the dingtalk and feishu presets; preset \(webhook.preset.rawValue) does not use one")
        }
        if let timeout = section["timeout"]?.duration {
            if timeout <= 0 || timeout > 300 { section["timeout"]!.fail("expected a timeout between 0 and 5m") } else { webhook.timeout = timeout }
        }
        return webhook
    }

    /// A secret file must exist and hold a `whsec_` secret: better refused by `storey check` than at 3 a.m.
    private func checkWebhookSecret(_ path: String, at node: ConfigNode) {
        do {
            let secret = try DeliverySecret.file(path).read()
            _ = try StandardWebhookSignature(secrets: [secret])
        } catch {
            node.fail("\(error)")
        }
    }

    private func readEmail(_ node: ConfigNode) -> EmailReceiver? {
        guard let section = node.mapping(allowed: [
            "server", "security", "from", "to", "username", "password_file", "password_credential", "auth", "ca_file", "timeout",
            "message_id_domain",
        ]) else { return nil }
        guard let serverNode = section.required("server"), let serverText = serverNode.string,
            let fromNode = section.required("from"), let from = fromNode.string
        else { return nil }
        guard let server = Self.smtpServer(serverText) else {
            serverNode.fail("\"\(serverText)\" is not smtp://HOST:PORT or smtps://HOST:PORT")
            return nil
        }
        if !MailAddress.isValid(MailAddress.bare(from)) { fromNode.fail("\"\(from)\" is not a mail address (name@example.com or Name <name@example.com>)") }
        var to: [String] = []
        for addressNode in section.required("to")?.sequence() ?? [] {
            guard let address = addressNode.string else { continue }
            if !MailAddress.isValid(address) {
                addressNode.fail("\"\(address)\" is not a mail address (name@example.com)")
            } else if to.contains(address) {
                addressNode.fail("\"\(address)\" is listed twice")
            } else {
                to.append(address)
            }
        }
        if to.isEmpty, let toNode = section["to"] { toNode.fail("give at least one recipient") }
        var email = EmailReceiver(host: server.host, port: server.port, from: from, to: to)
        email.security = server.implicit ? .implicit : .starttls
        if let securityNode = section["security"], let security = securityNode.oneOf(EmailReceiver.Security.self) {
            if server.implicit != (security == .implicit) {
                securityNode.fail("smtps:// is implicit TLS and smtp:// is starttls or none; \"\(security.rawValue)\" does not fit \(serverText)")
            }
            email.security = security
        }
        email.username = section["username"]?.string
        if let fileNode = section["password_file"], let path = fileNode.string {
            let resolved = Self.resolve(path, relativeTo: fileNode.file)
            if !FileManager.default.isReadableFile(atPath: resolved) { fileNode.fail("cannot read the password file \(resolved)") }
            email.password = .file(resolved)
        }
        if let nameNode = section["password_credential"], let name = nameNode.identifier {
            if email.password != nil { nameNode.fail("give password_file or password_credential, not both") }
            email.password = .credential(name)
        }
        if email.password != nil && email.username == nil { node.fail("a password needs a username") }
        if let mechanism = section["auth"]?.string {
            if let value = EmailReceiver.Authentication(rawValue: mechanism.uppercased()) { email.authentication = value } else {
                section["auth"]!.fail("\"\(mechanism)\" is not one of plain, login")
            }
        }
        if let caNode = section["ca_file"], let path = caNode.string {
            let resolved = Self.resolve(path, relativeTo: caNode.file)
            if !FileManager.default.isReadableFile(atPath: resolved) { caNode.fail("cannot read the CA file \(resolved)") }
            email.caFile = resolved
        }
        if let timeout = section["timeout"]?.duration {
            if timeout <= 0 || timeout > 600 { section["timeout"]!.fail("expected a timeout between 0 and 10m") } else { email.timeout = timeout }
        }
        email.messageIDDomain = section["message_id_domain"]?.string
        return email
    }

    static func smtpServer(_ text: String) -> (host: String, port: Int, implicit: Bool)? {
        let implicit: Bool
        let rest: Substring
        if text.hasPrefix("smtp://") {
            implicit = false
            rest = text.dropFirst(7)
        } else if text.hasPrefix("smtps://") {
            implicit = true
            rest = text.dropFirst(8)
        } else {
            return nil
        }
        let authority = String(rest.split(separator: "/", omittingEmptySubsequences: false).first ?? "")
        if let hostPort = HostPort(authority) { return (hostPort.host, hostPort.port, implicit) }
        guard !authority.isEmpty, !authority.contains(":") else { return nil }
        return (authority, implicit ? 465 : 587, implicit)
    }

    // MARK: Time intervals

    private func readTimeIntervalSet(_ node: ConfigNode) -> TimeIntervalSet? {
        guard let section = node.mapping(allowed: ["name", "time_zone", "intervals"]),
            let name = section.required("name")?.identifier
        else { return nil }
        var zone = TimeZone.gmt
        if let zoneNode = section["time_zone"], let text = zoneNode.string {
            if let found = TimeZone(identifier: text) { zone = found } else {
                zoneNode.fail("\"\(text)\" is not a time zone of the tz database, e.g. Asia/Shanghai")
            }
        }
        var rules: [TimeIntervalRule] = []
        for ruleNode in section.required("intervals")?.sequence() ?? [] {
            guard let rule = ruleNode.mapping(allowed: ["weekdays", "times", "dates"]) else { continue }
            var interval = TimeIntervalRule()
            for dayNode in rule["weekdays"]?.sequence() ?? [] {
                guard let text = dayNode.string else { continue }
                if let days = TopologyReader.weekdayRange(text) { interval.weekdays.formUnion(days) } else {
                    dayNode.fail("\"\(text)\" is not a day or range of days; write e.g. monday, sat or mon-fri")
                }
            }
            for timeNode in rule["times"]?.sequence() ?? [] {
                guard let text = timeNode.string else { continue }
                if let shift = Shift(text) { interval.times.append(shift) } else {
                    timeNode.fail("\"\(text)\" is not a time range; write HH:MM-HH:MM, e.g. 22:00-07:00")
                }
            }
            for dateNode in rule["dates"]?.sequence() ?? [] {
                guard let text = dateNode.string else { continue }
                let parts = text.components(separatedBy: "..")
                if parts.count == 1, let date = LocalDate(parts[0]) {
                    interval.dates.append(date...date)
                } else if parts.count == 2, let first = LocalDate(parts[0]), let last = LocalDate(parts[1]), first <= last {
                    interval.dates.append(first...last)
                } else {
                    dateNode.fail("\"\(text)\" is not a date or date range; write 2026-10-01 or 2026-10-01..2026-10-07")
                }
            }
            rules.append(interval)
        }
        return TimeIntervalSet(name: name, timeZone: zone, intervals: rules)
    }

    // MARK: Routes

    private func readRoute(_ node: ConfigNode, isRoot: Bool, receivers: Set<String>, intervals: Set<String>) -> Route? {
        guard let section = node.mapping(allowed: [
            "receiver", "matchers", "group_by", "group_wait", "group_interval", "repeat_interval", "continue", "mute_time_intervals",
            "active_time_intervals", "routes",
        ]) else { return nil }
        var route = Route(receiver: nil)
        if let receiverNode = isRoot ? section.required("receiver") : section["receiver"], let name = receiverNode.string {
            if receivers.contains(name) { route.receiver = name } else {
                receiverNode.fail("no receiver named \"\(name)\"; defined: \(receivers.sorted().joined(separator: ", "))")
            }
        }
        if isRoot && !section.entries.keys.filter({ ["matchers", "continue"].contains($0) }).isEmpty {
            node.fail("the root route matches every alert: matchers and continue belong to its child routes")
        }
        for matcherNode in section["matchers"]?.sequence() ?? [] {
            guard let text = matcherNode.string else { continue }
            do { route.matchers.append(try LabelMatcher(parsing: text)) } catch { matcherNode.fail("\(error)") }
        }
        if let groupNode = section["group_by"] {
            route.groupBy = groupNode.sequence().compactMap(\.string)
        }
        route.groupWait = section["group_wait"]?.duration
        route.groupInterval = section["group_interval"]?.duration
        route.repeatInterval = section["repeat_interval"]?.duration
        if let value = section["continue"]?.bool { route.continue = value }
        for (key, target) in [("mute_time_intervals", \Route.muteTimeIntervals), ("active_time_intervals", \Route.activeTimeIntervals)] {
            for nameNode in section[key]?.sequence() ?? [] {
                guard let name = nameNode.string else { continue }
                if intervals.contains(name) { route[keyPath: target].append(name) } else {
                    nameNode.fail("no time interval named \"\(name)\" under delivery.time_intervals")
                }
            }
        }
        for child in section["routes"]?.sequence() ?? [] {
            if let childRoute = readRoute(child, isRoot: false, receivers: receivers, intervals: intervals) { route.routes.append(childRoute) }
        }
        return route
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return false }
        return true
    }

    static func resolve(_ path: String, relativeTo file: String) -> String {
        path.hasPrefix("/") ? path : ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(path)
    }
}
