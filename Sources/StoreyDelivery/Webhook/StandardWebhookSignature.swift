import Crypto
import Foundation

/// Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-signature` carries
/// `v1,BASE64(HMAC-SHA256(secret, "ID.TIMESTAMP.BODY"))` for each secret, separated by spaces, so a
/// receiver rotating its secret accepts either.
public struct StandardWebhookSignature: Sendable {
    /// The secrets' key bytes.
    public let keys: [SymmetricKey]

    /// Each secret in `whsec_BASE64` form.
    public init(secrets: [String]) throws(DeliveryError) {
        var keys: [SymmetricKey] = []
        for secret in secrets {
            let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
            guard trimmed.hasPrefix("whsec_"), let bytes = Data(base64Encoded: String(trimmed.dropFirst(6))), bytes.count >= 16 else {
                throw .secret("a webhook secret must be whsec_ followed by base64 of at least 16 bytes (Standard Webhooks form)")
            }
            keys.append(SymmetricKey(data: bytes))
        }
        self.keys = keys
    }

    /// The `webhook-signature` header value.
    public func signature(id: String, timestamp: Int64, body: Data) -> String {
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(body)
        return keys.map { key in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
        }.joined(separator: " ")
    }

    /// The three headers of one attempt (the timestamp is the attempt's; the id is the message's).
    public func headers(id: String, timestamp: Int64, body: Data) -> [(String, String)] {
        var headers = [("webhook-id", id), ("webhook-timestamp", String(timestamp))]
        if !keys.isEmpty { headers.append(("webhook-signature", signature(id: id, timestamp: timestamp, body: body))) }
        return headers
    }
}
