import Crypto
import Foundation
import Hummingbird

/// A JSON answer made once and shared between requests (`ShortLivedCache`), with its entity tag.
///
/// A dashboard's browser keeps the last answer and asks again with `If-None-Match`; when nothing changed
/// it gets 304 and no body (RFC 9110 §13.1.2). The topology of 100,000 points is megabytes that change
/// only on a reload, and a wall of screens re-reading it cost intake CPU for nothing.
struct SharedAnswer: Sendable {
    let body: Data
    /// A strong tag: a digest of the body, so equal answers made a second apart carry the same tag.
    let etag: String

    init(_ body: Data) {
        self.body = body
        let digest = SHA256.hash(data: body)
        etag = "\"" + digest.prefix(12).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined() + "\""
    }

    /// 304 without a body if the request already holds this answer, else 200 with it. Either way the tag,
    /// and `no-cache`: a client may keep the answer but must ask again before showing it.
    func response(to request: Request) -> Response {
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "no-cache"]
        if let held = request.headers[.ifNoneMatch], Self.matches(held, etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Whether an `If-None-Match` value names `etag`: `*`, or a comma-separated list compared weakly (a
    /// `W/` prefix ignored, as RFC 9110 §13.1.2 asks for this header).
    static func matches(_ ifNoneMatch: String, _ etag: String) -> Bool {
        ifNoneMatch.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }
}
