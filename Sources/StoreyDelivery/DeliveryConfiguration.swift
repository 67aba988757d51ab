import Foundation

/// The `delivery:` section: receivers, the routing tree, named time intervals and retry settings.
/// Plain data; secrets are references, read when the daemon builds its senders.
public struct DeliveryConfiguration: Sendable, Equatable {
    public var receivers: [Receiver] = []
    public var route: Route
    public var timeIntervals: [String: TimeIntervalSet] = [:]
    /// The dashboard's address, for the link in each message (`EXTERNAL_URL/alerts/FINGERPRINT`).
    public var externalURL: String?
    /// The clock times in message texts are shown in.
    public var timeZone: TimeZone = .gmt
    public var retry = RetryPolicy()
    public var circuitBreaker = CircuitBreakerPolicy()
    /// How often the outbox is looked at even without a wake-up (a restart resumes within this).
    public var pollInterval: Double = 2
    /// Messages in flight at once, over all receivers.
    public var maxConcurrentSends = 32
    /// How outcomes are gathered into one commit.
    public var outcomeBatch = OutcomeBatchPolicy()
    /// How long delivered messages and dead letters are kept.
    public var retention = RetentionPolicy()

    public init(receivers: [Receiver] = [], route: Route = Route(receiver: nil)) {
        self.receivers = receivers
        self.route = route
    }

    public func receiver(named name: String) -> Receiver? { receivers.first { $0.name == name } }
}

/// A secret kept out of the configuration: a file, or a systemd credential (`$CREDENTIALS_DIRECTORY/NAME`).
public enum DeliverySecret: Sendable, Equatable {
    case file(String)
    case credential(String)

    public func read(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let path: String
        switch self {
        case .file(let file): path = file
        case .credential(let name):
            guard let directory = environment["CREDENTIALS_DIRECTORY"] else {
                throw DeliveryError.secret("credential \"\(name)\" asked for, but CREDENTIALS_DIRECTORY is not set (is the service started with LoadCredential=?)")
            }
            path = "\(directory)/\(name)"
        }
        guard let data = FileManager.default.contents(atPath: path), var text = String(data: data, encoding: .utf8) else {
            throw DeliveryError.secret("cannot read the secret at \(path)")
        }
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}

public enum DeliveryError: Error, CustomStringConvertible, Equatable {
    case secret(String)
    case configuration(String)

    public var description: String {
        switch self {
        case .secret(let message), .configuration(let message): message
        }
    }
}

/// Message language, chosen per receiver.
public enum Language: String, Sendable, CaseIterable {
    case english = "en"
    case simplifiedChinese = "zh-Hans"
}

/// Where notifications go: one webhook endpoint, or one mail setup with its recipients.
public struct Receiver: Sendable, Equatable {
    public var name: String
    public var language: Language = .english
    public var kind: Kind
    /// Messages of this receiver in flight at once (each recipient counts on its own).
    public var maxConcurrency = 4

    public enum Kind: Sendable, Equatable {
        case webhook(WebhookReceiver)
        case email(EmailReceiver)
    }

    public init(name: String, language: Language = .english, kind: Kind) {
        self.name = name
        self.language = language
        self.kind = kind
    }

    public var isEmail: Bool {
        if case .email = kind { true } else { false }
    }

    /// The addresses delivered independently: each email recipient, or the one webhook ("").
    public var recipients: [String] {
        switch kind {
        case .webhook: [""]
        case .email(let email): email.to
        }
    }
}

public struct WebhookReceiver: Sendable, Equatable {
    public enum Preset: String, Sendable, CaseIterable {
        /// Storey's own versioned JSON body, signed per Standard Webhooks.
        case standard
        case wecom, dingtalk, feishu, slack
    }

    public var url: String
    /// The URL itself kept secret (a group bot's URL carries its access token): read at start and on
    /// reload, and used instead of `url`.
    public var urlSecret: DeliverySecret?
    public var preset: Preset = .standard
    /// `whsec_…` secrets: each signs every message, so a receiver can rotate its secret without a gap.
    public var secrets: [DeliverySecret] = []
    /// DingTalk's and Feishu's signing secret (their "加签").
    public var signingSecret: DeliverySecret?
    /// Seconds for the whole request.
    public var timeout: Double = 10

    public init(url: String, preset: Preset = .standard) {
        self.url = url
        self.preset = preset
    }
}

public struct EmailReceiver: Sendable, Equatable {
    public enum Security: String, Sendable, CaseIterable {
        /// Plain SMTP that must upgrade with STARTTLS (usually port 587).
        case starttls
        /// TLS from the first byte (SMTPS, usually port 465).
        case implicit
        /// No TLS: only for a relay on the same host or network.
        case none
    }

    public enum Authentication: String, Sendable, CaseIterable {
        case plain = "PLAIN"
        case login = "LOGIN"
    }

    public var host: String
    public var port: Int
    public var security: Security = .starttls
    public var from: String
    public var to: [String]
    public var username: String?
    public var password: DeliverySecret?
    public var authentication: Authentication?
    /// CA bundle to verify the server with (the system's when nil).
    public var caFile: String?
    public var timeout: Double = 30
    /// The domain in Message-IDs (defaults to the sender address's domain).
    public var messageIDDomain: String?

    public init(host: String, port: Int, from: String, to: [String]) {
        self.host = host
        self.port = port
        self.from = from
        self.to = to
    }

    public var domain: String {
        if let messageIDDomain { return messageIDDomain }
        let address = MailAddress.bare(from)
        return address.split(separator: "@").last.map(String.init) ?? "storey.invalid"
    }
}
