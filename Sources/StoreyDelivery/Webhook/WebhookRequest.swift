import Crypto
import Foundation

/// One HTTP request as a value: what the webhook sender posts.
public struct WebhookRequest: Sendable, Equatable {
    public var url: String
    public var headers: [String: String]
    public var body: Data
}

/// Builds each attempt's request for a receiver: Storey's signed body, or a group bot's message.
public struct WebhookRenderer: Sendable {
    public let receiverName: String
    public let webhook: WebhookReceiver
    public let language: Language
    public let settings: RenderingSettings
    /// Standard Webhooks keys (`standard` preset).
    let signature: StandardWebhookSignature?
    /// DingTalk's or Feishu's signing secret.
    let signingSecret: String?

    public init(receiverName: String, webhook: WebhookReceiver, language: Language, settings: RenderingSettings, secrets: [String], signingSecret: String?) throws(DeliveryError) {
        self.receiverName = receiverName
        self.webhook = webhook
        self.language = language
        self.settings = settings
        self.signature = secrets.isEmpty ? nil : try StandardWebhookSignature(secrets: secrets)
        self.signingSecret = signingSecret
    }

    /// The request of one attempt at `now` (milliseconds since the Unix epoch): timestamps and bot
    /// signatures are the attempt's own, the webhook-id is the message's.
    public func request(_ message: OutgoingMessage, now: Int64) -> WebhookRequest {
        var headers = ["content-type": "application/json; charset=utf-8", "user-agent": "storeyd"]
        // The bots' text; Storey's own body renders its text itself (made once per request, not twice).
        var text: MessageText { MessageText(message, language: language, settings: settings) }
        var url = webhook.url
        let body: Data
        switch webhook.preset {
        case .standard:
            body = WebhookBody(message, language: language, settings: settings).encoded()
            for (name, value) in (signature ?? Self.unsigned).headers(id: message.messageKey, timestamp: now / 1000, body: body) {
                headers[name] = value
            }
        case .wecom:
            // 企业微信群机器人: markdown, 4096 bytes at most.
            body = Self.json(["msgtype": "markdown", "markdown": ["content": Self.limit(text.markdown(), bytes: 4000)]])
        case .dingtalk:
            // 钉钉自定义机器人: markdown; with 加签, timestamp (ms) and sign in the query.
            if let secret = signingSecret {
                let sign = Self.hmacBase64(key: secret, message: "\(now)\n\(secret)")
                let encoded = sign.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? sign
                url += (url.contains("?") ? "&" : "?") + "timestamp=\(now)&sign=\(encoded)"
            }
            let words = text
            body = Self.json(["msgtype": "markdown", "markdown": ["title": words.title, "text": Self.limit(words.markdown().replacingOccurrences(of: "\n", with: "\n\n"), bytes: 18000)]])
        case .feishu:
            // 飞书自定义机器人: text; with 签名校验, timestamp (s) and sign in the body, the key being
            // "TIMESTAMP\nSECRET" over an empty message.
            var object: [String: Any] = ["msg_type": "text", "content": ["text": Self.limit(text.plainText, bytes: 18000)]]
            if let secret = signingSecret {
                let seconds = now / 1000
                object["timestamp"] = String(seconds)
                object["sign"] = Self.hmacBase64(key: "\(seconds)\n\(secret)", message: "")
            }
            body = Self.json(object)
        case .slack:
            body = Self.json(["text": Self.limit(text.markdown(bold: { "*\($0)*" }), bytes: 38000)])
        }
        headers["idempotency-key"] = message.messageKey
        return WebhookRequest(url: url, headers: headers, body: body)
    }

    /// Whether a 2xx answer really means delivered: group bots answer 200 with an error code in the body.
    public func judge(status: Int, body: Data) -> SendOutcome {
        guard webhook.preset != .standard else { return .delivered }
        switch webhook.preset {
        case .slack:
            let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty || text == "ok" ? .delivered : .failed(.botError, "slack answered \(text.prefix(200))")
        default:
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                return .failed(.botError, "the bot answered \(status) without a JSON body")
            }
            let code = (object["errcode"] ?? object["code"] ?? object["StatusCode"]) as? Int ?? 0
            if code == 0 { return .delivered }
            let message = (object["errmsg"] ?? object["msg"] ?? object["StatusMessage"]) as? String ?? ""
            return .failed(.botError, "the bot answered code \(code): \(message.prefix(200))")
        }
    }

    private static let unsigned = try! StandardWebhookSignature(secrets: [])

    static func hmacBase64(key: String, message: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: Data(key.utf8)))
        return Data(code).base64EncodedString()
    }

    static func json(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    /// Cuts text to a bot's size limit at a character boundary.
    static func limit(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var result = ""
        for character in text {
            if result.utf8.count + character.utf8.count > bytes - 3 { break }
            result.append(character)
        }
        return result + "…"
    }
}
