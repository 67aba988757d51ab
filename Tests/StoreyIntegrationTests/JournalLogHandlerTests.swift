import Logging
import StoreyDaemon
import Testing

/// What journald reads from storeyd's standard error: one line per message, its priority first.
@Suite struct JournalLogHandlerTests {
    @Test func eachMessageIsOneLineWithItsPriorityAndSortedMetadata() {
        #expect(JournalLogHandler.line(level: .warning, message: "reading refused", metadata: ["topic": "storey/a", "reason": "malformed"])
            == "<4>reading refused reason=malformed topic=storey/a\n")
        #expect(JournalLogHandler.line(level: .debug, message: "tick", metadata: [:]) == "<7>tick\n")
        #expect(JournalLogHandler.line(level: .critical, message: "中文 ok", metadata: [:]) == "<2>中文 ok\n")
    }

    @Test func textFromOutsideCannotForgeALineOrAPriority() {
        // A topic (or any value from a device) with a newline and a priority of its own in it.
        let line = JournalLogHandler.line(
            level: .info, message: "refused\r\n<0>forged message",
            metadata: ["topic": "storey/x\n<2>storeyd: database corrupt", "tab": "a\tb", "bell": "\u{07}"])
        #expect(line.split(separator: "\n", omittingEmptySubsequences: false).count == 2, "one line and the final newline: \(line)")
        #expect(line.hasPrefix("<6>refused\\r\\n<0>forged message "))
        #expect(line.contains("topic=storey/x\\n<2>storeyd: database corrupt"))
        #expect(line.contains("tab=a\\tb") && line.contains("bell=\\u{7}"))
    }
}
