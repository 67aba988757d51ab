import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Posts webhook requests: one shared HTTP client, a timeout per request, redirects never followed
/// (a redirect could carry a signed alert somewhere the operator never named).
public final class WebhookSender: Sendable {
    private let client: HTTPClient

    public init() {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 16
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends one attempt and classifies the answer.
    public func send(_ request: WebhookRequest, timeout: Double, judge: (Int, Data) -> SendOutcome) async -> SendOutcome {
        var http = HTTPClientRequest(url: request.url)
        http.method = .POST
        for (name, value) in request.headers { http.headers.add(name: name, value: value) }
        http.body = .bytes(ByteBuffer(bytes: request.body))
        do {
            let response = try await client.execute(http, timeout: .milliseconds(Int64(timeout * 1000)))
            let body = try await response.body.collect(upTo: 256 * 1024)
            let bytes = Data(body.readableBytesView)
            return Self.classify(status: Int(response.status.code), headers: response.headers, body: bytes, now: Date(), judge: judge)
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return .failed(.timeout, "no answer within \(timeout)s")
            case .connectTimeout:
                return .failed(.connection, "connection timed out")
            default:
                return .failed(.connection, "\(error)")
            }
        } catch {
            let text = "\(error)"
            if text.localizedCaseInsensitiveContains("ssl") || text.localizedCaseInsensitiveContains("tls") || text.contains("certificate") {
                return .failed(.tls, text)
            }
            return .failed(.connection, text)
        }
    }

    /// An HTTP answer as an outcome: 2xx delivered (if the preset agrees), 410 gone, 429 and 5xx retried
    /// (with `Retry-After` honoured), 408 retried, a redirect or any other 4xx refused for good.
    static func classify(status: Int, headers: HTTPHeaders, body: Data, now: Date, judge: (Int, Data) -> SendOutcome) -> SendOutcome {
        let snippet = String(decoding: body.prefix(200), as: UTF8.self)
        let retryAfter = headers.first(name: "retry-after").flatMap { RetryAfter.seconds($0, now: now) }
        switch status {
        case 200..<300:
            return judge(status, body)
        case 410:
            return .gone("HTTP 410 Gone: \(snippet)")
        case 429:
            return .failed(.http429, "HTTP 429 Too Many Requests", retryAfter: retryAfter)
        case 408:
            return .failed(.timeout, "HTTP 408 Request Timeout")
        case 500..<600:
            return .failed(.http5xx, "HTTP \(status): \(snippet)", retryAfter: retryAfter)
        case 300..<400:
            let location = headers.first(name: "location") ?? "?"
            return .rejected(.http4xx, "HTTP \(status) redirect to \(location): redirects are not followed; configure the final URL")
        default:
            return .rejected(.http4xx, "HTTP \(status): \(snippet)")
        }
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
enum RetryAfter {
    static func seconds(_ value: String, now: Date) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
