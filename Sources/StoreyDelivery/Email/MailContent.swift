import Foundation
import StoreyCore

/// One mail as values: headers and the plain-text and HTML alternatives. The SMTP sender hands these to
/// libcurl, which builds the MIME structure (multipart/alternative) and the transfer encodings.
public struct MailContent: Sendable, Equatable {
    public var from: String
    public var to: String
    public var subject: String
    /// `<…@domain>`: the same on every attempt, so a resend is the same mail to the mail client.
    public var messageID: String
    /// The alert's first mail, for threading a resolution (or reminder) under it.
    public var inReplyTo: String?
    public var date: Date
    public var text: String
    public var html: String

    public init(_ message: OutgoingMessage, email: EmailReceiver, language: Language, settings: RenderingSettings, date: Date) {
        let rendered = MessageText(message, language: language, settings: settings)
        from = email.from
        to = message.recipient
        subject = rendered.title
        messageID = message.messageKey
        inReplyTo = message.threadKey
        self.date = date
        text = rendered.plainText + "\n"
        html = Self.html(rendered, language: language)
    }

    /// The header lines, ready for the wire (non-ASCII words encoded per RFC 2047).
    public var headers: [String] {
        var lines = [
            "Date: \(Self.rfc5322(date))",
            "From: \(MailAddress.header(from))",
            "To: \(MailAddress.header(to))",
            "Subject: \(EncodedWord.encode(subject))",
            "Message-ID: \(messageID)",
        ]
        if let inReplyTo {
            lines.append("In-Reply-To: \(inReplyTo)")
            lines.append("References: \(inReplyTo)")
        }
        lines.append("Auto-Submitted: auto-generated")
        return lines
    }

    /// `Thu, 01 Jan 1970 00:00:00 +0000`, in English whatever the locale (RFC 5322 §3.3).
    static func rfc5322(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let local = LocalInstant(milliseconds: seconds * 1000, in: .gmt)
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return String(
            format: "%@, %02d %@ %04d %02d:%02d:%02d +0000", days[local.weekday.rawValue], local.date.day, months[local.date.month - 1],
            local.date.year, local.minuteOfDay / 60, local.minuteOfDay % 60, Int((seconds % 60 + 60) % 60))
    }

    static func html(_ rendered: MessageText, language: Language) -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var html = "<!DOCTYPE html>\n<html lang=\"\(language.rawValue)\"><head><meta charset=\"utf-8\">"
        html += "<meta name=\"viewport\" content=\"width=device-width\"><title>\(escape(rendered.title))</title></head>\n"
        html += "<body style=\"font-family:sans-serif\">\n"
        if rendered.alerts.count > 1 { html += "<h2>\(escape(rendered.title))</h2>\n" }
        for alert in rendered.alerts {
            html += "<h3>\(escape(alert.title))</h3>\n<table>\n"
            for fact in alert.facts {
                html += "<tr><th align=\"left\">\(escape(fact.label))</th><td>\(escape(fact.value))</td></tr>\n"
            }
            html += "</table>\n"
            if let description = alert.description { html += "<p>\(escape(description))</p>\n" }
            if let link = alert.link { html += "<p><a href=\"\(escape(link))\">\(escape(link))</a></p>\n" }
        }
        return html + "</body></html>\n"
    }
}
