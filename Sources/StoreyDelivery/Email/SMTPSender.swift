import CCurl
import Foundation

/// Sends mails through libcurl's SMTP: STARTTLS, implicit TLS or plain; AUTH PLAIN or LOGIN; one
/// recipient per transaction, so a refused address fails alone. libcurl's calls block, so they run on
/// threads of their own.
public final class SMTPSender: Sendable {
    public let email: EmailReceiver
    private let password: String?
    private let threads: BlockingThreads

    /// `password` already read from its file or credential.
    public init(email: EmailReceiver, password: String?, threads: Int = 2) {
        Self.initializeCurl
        self.email = email
        self.password = password
        self.threads = BlockingThreads(count: threads, name: "storey-smtp")
    }

    deinit { threads.stop() }

    private static let initializeCurl: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    public func send(_ content: MailContent) async -> SendOutcome {
        let email = self.email
        let password = self.password
        return await threads.run { Self.transfer(content, email: email, password: password) }
    }

    /// One SMTP transaction (blocking), on this thread's libcurl handle: reset for each mail, but it keeps
    /// its connection, so mails in a row share one SMTP session.
    static func transfer(_ content: MailContent, email: EmailReceiver, password: String?) -> SendOutcome {
        guard let curl = ThreadCurlHandle.current() else { return .failed(.connection, "libcurl could not start a transfer") }
        curl_easy_reset(curl)
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var recipients: UnsafeMutablePointer<curl_slist>?
        var headers: UnsafeMutablePointer<curl_slist>?
        defer {
            curl_slist_free_all(recipients)
            curl_slist_free_all(headers)
        }
        let scheme = email.security == .implicit ? "smtps" : "smtp"
        let host = email.host.contains(":") ? "[\(email.host)]" : email.host
        storey_curl_set_string(curl, CURLOPT_URL, "\(scheme)://\(host):\(email.port)")
        storey_curl_set_long(curl, CURLOPT_NOSIGNAL, 1)
        storey_curl_set_long(curl, CURLOPT_TIMEOUT_MS, Int(email.timeout * 1000))
        storey_curl_set_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(min(email.timeout, 10) * 1000))
        switch email.security {
        case .starttls, .implicit:
            storey_curl_set_long(curl, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
        case .none:
            storey_curl_set_long(curl, CURLOPT_USE_SSL, Int(CURLUSESSL_NONE.rawValue))
        }
        if let caFile = email.caFile { storey_curl_set_string(curl, CURLOPT_CAINFO, caFile) }
        if let username = email.username {
            storey_curl_set_string(curl, CURLOPT_USERNAME, username)
            storey_curl_set_string(curl, CURLOPT_PASSWORD, password ?? "")
            if let mechanism = email.authentication {
                storey_curl_set_string(curl, CURLOPT_LOGIN_OPTIONS, "AUTH=\(mechanism.rawValue)")
            }
        }
        storey_curl_set_string(curl, CURLOPT_MAIL_FROM, "<\(MailAddress.bare(content.from))>")
        recipients = curl_slist_append(recipients, "<\(MailAddress.bare(content.to))>")
        storey_curl_set_pointer(curl, CURLOPT_MAIL_RCPT, recipients)
        // The top-level type: without it libcurl makes the root multipart/mixed.
        for line in content.headers + ["Content-Type: multipart/alternative"] {
            headers = curl_slist_append(headers, line)
        }
        storey_curl_set_pointer(curl, CURLOPT_HTTPHEADER, headers)

        // multipart/alternative: plain text first, HTML last (the richest last, per RFC 2046).
        let mime = curl_mime_init(curl)
        defer { curl_mime_free(mime) }
        for (body, type) in [(content.text, "text/plain; charset=utf-8"), (content.html, "text/html; charset=utf-8")] {
            let part = curl_mime_addpart(mime)
            let bytes = Array(body.utf8)
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { _ = curl_mime_data(part, $0.baseAddress, buffer.count) }
            }
            curl_mime_type(part, type)
            curl_mime_encoder(part, "quoted-printable")
            curl_mime_headers(part, curl_slist_append(nil, "Content-Disposition: inline"), 1)  // the part owns the list from here
        }
        storey_curl_set_pointer(curl, CURLOPT_MIMEPOST, UnsafeMutableRawPointer(mime))
        let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
            storey_curl_set_pointer(curl, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            return curl_easy_perform(curl)
        }
        var response = 0
        storey_curl_get_long(curl, CURLINFO_RESPONSE_CODE, &response)
        let written = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let detail = written.isEmpty ? String(cString: curl_easy_strerror(code)) : written
        return classify(code: code, response: response, detail: detail)
    }

    /// A transfer's result as an outcome: a 5xx reply (a refused recipient, say) is permanent; timeouts,
    /// refused connections, TLS trouble and 4xx replies are worth another try. 421 is the server itself
    /// closing (unavailable): a connection failure, for the circuit breaker; other 4xx are about this mail.
    static func classify(code: CURLcode, response: Int, detail: String) -> SendOutcome {
        if code == CURLE_OK { return .delivered }
        let message = response > 0 ? "SMTP \(response): \(detail)" : detail
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .failed(.timeout, message)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST:
            return .failed(.connection, message)
        case CURLE_LOGIN_DENIED:
            return .failed(.authentication, message)
        case CURLE_USE_SSL_FAILED, CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return .failed(.tls, message)
        default:
            if (500..<600).contains(response) { return .rejected(.smtpRefused, message) }
            if response == 421 { return .failed(.connection, message) }
            if (400..<500).contains(response) { return .failed(.smtpTransient, message) }
            return .failed(.connection, message)
        }
    }
}

/// Each sending thread's own libcurl handle (a handle must not be used by two threads at once), freed
/// with the thread.
final class ThreadCurlHandle {
    let handle: UnsafeMutableRawPointer

    private init?() {
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
    }

    deinit { curl_easy_cleanup(handle) }

    static func current() -> UnsafeMutableRawPointer? {
        let key = "storey.curl"
        if let existing = Thread.current.threadDictionary[key] as? ThreadCurlHandle { return existing.handle }
        guard let created = ThreadCurlHandle() else { return nil }
        Thread.current.threadDictionary[key] = created
        return created.handle
    }
}
