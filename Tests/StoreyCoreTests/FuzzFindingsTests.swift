import Foundation
import Testing
import StoreyCore

/// Inputs that crashed a harness in Fuzz/ (scripts/fuzz), kept as specifications of the fixed behaviour.
@Suite struct FuzzFindingsTests {
    let now: Int64 = 1_790_000_000_000

    func decode(_ text: String) throws(RejectionReason) -> [DecodedValue] {
        var values: [DecodedValue] = []
        var failure: RejectionReason?
        Array(text.utf8).withUnsafeBytes { raw in
            do throws(RejectionReason) { try PayloadDecoder().decode(raw, now: now, into: &values) } catch { failure = error }
        }
        if let failure { throw failure }
        return values
    }

    /// fuzz-payload: a SenML relative time far in the past trapped converting to Int64 (a device could
    /// stop storeyd with one message). Now refused as a bad timestamp, as is a base time plus time
    /// that overflows to -inf.
    @Test func senMLRelativeTimeBefore1970IsABadTimestampNotACrash() throws {
        #expect(throws: RejectionReason.badTimestamp) { try decode(#"[{"n":"x","v":1,"t":-1e300}]"#) }
        #expect(throws: RejectionReason.badTimestamp) { try decode(#"[{"bt":-1.5e308,"n":"x","v":1,"t":-1.5e308}]"#) }
        #expect(throws: RejectionReason.badTimestamp) { try decode(#"[{"n":"x","v":1,"t":-1790000001}]"#) }
        // A relative time within reach still resolves against now.
        #expect(try decode(#"[{"n":"x","v":1,"t":-60}]"#).first?.time == now - 60_000)
    }
}
